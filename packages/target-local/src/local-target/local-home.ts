import path from 'node:path';
import { MlDeployError } from '@mldeploy/core';

/** The local target's home: `local:/ABS/DIR` names it; plain `local` is `~/.mldeploy`. */
export function localHome(targetUri: string, homeDir: string): string {
  const at = targetUri.indexOf(':');
  const suffix = at < 0 ? '' : targetUri.slice(at + 1);
  if (suffix === '' || suffix === '/') return path.join(homeDir, '.mldeploy');
  if (!suffix.startsWith('/') || suffix.startsWith('//')) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid local target URI ${JSON.stringify(targetUri)}: the suffix must be an absolute folder`, {
      target: 'local',
      hint: "Use 'local' or 'local:/absolute/home/folder'.",
    });
  }
  return path.resolve(suffix);
}
