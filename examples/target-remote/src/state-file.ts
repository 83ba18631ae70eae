import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MlDeployError, pollUntil } from '@mldeploy/core';
import { TARGET, type RemoteDeploymentConfig } from './remote-config.js';

/** A registered server, as stored. */
export interface DeploymentRecord {
  readonly name: string;
  readonly flavor: string;
  readonly url: string;
  readonly config: RemoteDeploymentConfig;
  readonly created_at: string;
  readonly updated_at: string;
}

/** An endpoint, as stored. */
export interface EndpointRecord {
  readonly name: string;
  readonly traffic: Readonly<Record<string, number>>;
  readonly created_at: string;
  readonly updated_at: string;
}

/** The whole state document. */
export interface State {
  readonly version: 1;
  readonly deployments: Readonly<Record<string, DeploymentRecord>>;
  readonly endpoints: Readonly<Record<string, EndpointRecord>>;
}

const EMPTY: State = { version: 1, deployments: {}, endpoints: {} };
const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

/**
 * The target's state in one JSON file under its home folder.
 *
 * Writes are atomic (a temporary file renamed over the old one), so a crash never leaves half a
 * file; concurrent writers, in this process or others, take a lock folder first, so no update
 * is lost. Reads need no lock.
 */
export class StateFile {
  readonly file: string;
  private readonly lockDir: string;
  private queue: Promise<unknown> = Promise.resolve();

  /** No I/O until the first read or write. */
  constructor(readonly home: string) {
    this.file = path.join(home, 'state.json');
    this.lockDir = `${this.file}.lock`;
  }

  /** The current state; an empty one when the file does not exist yet. */
  async read(): Promise<State> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY;
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw this.corrupt('it is not valid JSON', error);
    }
    const state = parsed as Partial<State> | null;
    if (
      state === null ||
      typeof state !== 'object' ||
      state.version !== 1 ||
      typeof state.deployments !== 'object' ||
      typeof state.endpoints !== 'object'
    ) {
      throw this.corrupt('it is not a version 1 state document');
    }
    return state as State;
  }

  /**
   * Applies `change` to the state under the lock and writes the result. `change` may throw to
   * abort without writing; what it returns besides the state is handed back.
   */
  update<T>(change: (state: State) => { state: State; result: T } | Promise<{ state: State; result: T }>): Promise<T> {
    // Serialise this process's writers first, so they do not spin on their own lock.
    const run = this.queue.then(async () => {
      await this.lock();
      try {
        const { state, result } = await change(await this.read());
        await this.write(state);
        return result;
      } finally {
        await rm(this.lockDir, { recursive: true, force: true });
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(state: State): Promise<void> {
    const temp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, this.file);
  }

  private async lock(): Promise<void> {
    await mkdir(this.home, { recursive: true, mode: 0o700 });
    await pollUntil(
      async () => {
        try {
          await mkdir(this.lockDir);
          return true;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        // A lock left by a process that died mid-write would block everyone forever.
        const age = await stat(this.lockDir).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > LOCK_STALE_MS) await rm(this.lockDir, { recursive: true, force: true });
        return undefined;
      },
      {
        timeoutMs: LOCK_WAIT_MS,
        minDelayMs: 5,
        maxDelayMs: 100,
        onTimeout: () =>
          new MlDeployError('RESOURCE_CONFLICT', `The remote target's state at ${this.file} is locked by another process`, {
            target: TARGET,
            hint: `Retry; if no other mldeploy is running, remove ${this.lockDir}.`,
          }),
      },
    );
  }

  private corrupt(reason: string, cause?: unknown): MlDeployError {
    return new MlDeployError('INVALID_STATE', `The remote target's state file ${this.file} is unreadable: ${reason}`, {
      target: TARGET,
      cause,
      hint: 'Restore it from a backup, or move it away to start with an empty target.',
    });
  }
}
