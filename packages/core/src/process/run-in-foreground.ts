import type { SpawnOptions } from 'node:child_process';
import { spawnProcessGroup } from './process-group.js';

/** How a foreground process ended: stopped by the caller, or on its own with an exit status. */
export type ForegroundOutcome =
  { readonly stopped: true } | { readonly stopped: false; readonly code: number | null; readonly signal: NodeJS.Signals | null };

/**
 * Runs `command` in a process group of its own until it exits or `signal` aborts (then the whole
 * group gets SIGTERM, SIGKILL after `graceMs`): what a plugin's `runLocal` does with a server it
 * starts in the foreground. Rejects with the spawn error (ENOENT for a command not found).
 */
export async function runInForeground(
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, 'detached'> & { readonly signal?: AbortSignal | undefined; readonly graceMs?: number } = {},
): Promise<ForegroundOutcome> {
  const { signal, graceMs = 10_000, ...spawnOptions } = options;
  const group = spawnProcessGroup(command, args, spawnOptions);
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    void group.stop(graceMs);
  };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    await group.started;
    if (signal?.aborted === true) stop();
    const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      if (group.child.exitCode !== null || group.child.signalCode !== null)
        resolve({ code: group.child.exitCode, signal: group.child.signalCode });
      else group.child.once('exit', (code, exitSignal) => resolve({ code, signal: exitSignal }));
    });
    return stopping ? { stopped: true } : { stopped: false, ...outcome };
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}
