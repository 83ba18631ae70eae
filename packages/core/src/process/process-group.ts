import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** A child process that leads its own process group, so that it can be stopped with its children. */
export interface ProcessGroup {
  readonly child: ChildProcess;
  /** Resolves once the process has started; rejects with the spawn error (ENOENT for a missing command). */
  readonly started: Promise<void>;
  /** Resolves when the group's leader has exited. */
  readonly exited: Promise<void>;
  /** Whether the leader has exited. */
  hasExited(): boolean;
  /** Sends `signal` to every process of the group; a group that is gone is not an error. */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves when the leader has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns `command` as the leader of a new process group. Why: servers such as `mlflow models
 * serve` run their real worker (uvicorn) as a child that a signal sent to the parent alone leaves
 * running; signalling the group stops them all.
 */
export function spawnProcessGroup(command: string, args: readonly string[], options: Omit<SpawnOptions, 'detached'> = {}): ProcessGroup {
  const child = spawn(command, [...args], { ...options, detached: true });
  let exitedFlag = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exitedFlag = true;
      resolve();
    });
    // A process that never started never exits.
    child.once('error', () => {
      if (child.pid === undefined) {
        exitedFlag = true;
        resolve();
      }
    });
  });
  const started = new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  // The caller learns of a spawn failure through `started`; an unobserved rejection must not crash.
  started.catch(() => undefined);
  const signal = (name: NodeJS.Signals): void => {
    if (child.pid === undefined || exitedFlag) return;
    try {
      process.kill(-child.pid, name);
    } catch {
      // The group is already gone.
    }
  };
  return {
    child,
    started,
    exited,
    hasExited: () => exitedFlag,
    signal,
    async stop(graceMs = 10_000): Promise<void> {
      if (exitedFlag) return;
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      timer.unref();
      await exited;
      clearTimeout(timer);
    },
  };
}
