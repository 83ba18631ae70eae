import type { ChildProcess } from 'node:child_process';
import { spawnProcessGroup } from '@mldeploy/core';
import { waitFor } from './wait-for.js';

/** A server process started for a test, in its own process group. */
export interface ProcessServer {
  readonly process: ChildProcess;
  /** What it printed so far (stdout and stderr). */
  readonly output: () => string;
  /** Stops the whole process group (servers such as MLflow's run children) and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `command` and resolves once `readyUrl` answers with `readyStatus`; fails at once if the
 * process exits first, with its output.
 */
export async function startProcessServer(options: {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly readyUrl: string;
  readonly readyStatus?: number;
  readonly timeoutMs?: number;
}): Promise<ProcessServer> {
  const group = spawnProcessGroup(options.command, options.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = group.child;
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const stop = (): Promise<void> => group.stop();
  try {
    await waitFor(
      `${options.command} ${options.args.join(' ')}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${options.command} exited with ${child.exitCode}:\n${output}`);
        const response = await fetch(options.readyUrl).catch(() => undefined);
        return response?.status === (options.readyStatus ?? 200) ? true : undefined;
      },
      options.timeoutMs ?? 120_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { process: child, output: () => output, stop };
}
