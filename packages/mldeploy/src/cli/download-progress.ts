import type { DownloadProgress } from '@mldeploy/core';

/**
 * A model download's progress line on a terminal, rewritten in place; nothing when stderr is a
 * pipe or a file, where the carriage returns would be noise.
 */
export function downloadProgress(stderr: NodeJS.WritableStream): ((progress: DownloadProgress) => void) | undefined {
  if (!('isTTY' in stderr) || stderr.isTTY !== true) return undefined;
  return (p) =>
    stderr.write(
      `\rDownloading ${p.uri}: ${p.filesDone}/${p.filesTotal} files, ${(p.bytesDone / 1e6).toFixed(1)} MB${p.filesDone === p.filesTotal ? '\n' : ''}`,
    );
}
