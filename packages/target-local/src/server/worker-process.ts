import { fork, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { MlDeployError, isErrorCode, pollUntil } from '@mldeploy/core';
import { recordWorkerLine } from './log-record.js';
import { onLines } from './read-lines.js';
import type { Logger } from './logger.js';
import type { WorkerMessage, WorkerSpec } from './worker-protocol.js';
import { processRuns } from './process-identity.js';
import type { WorkerEntry } from './worker-registry.js';

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));

/** How a worker's process is watched and signalled: as a child, or as an adopted orphan by pid. */
interface ProcessHandle {
  readonly pid: number;
  /** Resolves when the process has exited, with how (unknown for an adopted one). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

const ADOPTED_POLL_MS = 250;

/**
 * One model worker process, from start to exit. Workers are separate processes so that a model
 * that crashes (or a native library that aborts) takes down only itself. A worker started by an
 * earlier control plane is adopted by pid ({@link WorkerProcess.adopt}).
 */
export class WorkerProcess {
  private exitHandlers: ((code: number | null, signal: NodeJS.Signals | null) => void)[] = [];
  private stopping = false;
  readonly exited: Promise<void>;

  private constructor(
    private readonly handle: ProcessHandle,
    readonly port: number,
  ) {
    this.exited = handle.exited.then(({ code, signal }) => {
      if (!this.stopping) for (const handler of this.exitHandlers) handler(code, signal);
    });
  }

  get pid(): number {
    return this.handle.pid;
  }

  /**
   * A worker an earlier control plane started, found running (see WorkerRegistry): watched by
   * polling its pid, since only a parent learns of a child's exit.
   */
  static adopt(entry: WorkerEntry): WorkerProcess {
    const exited = new Promise<{ code: null; signal: null }>((resolve) => {
      const timer = setInterval(() => {
        if (processRuns(entry)) return;
        clearInterval(timer);
        resolve({ code: null, signal: null });
      }, ADOPTED_POLL_MS);
      timer.unref();
    });
    return new WorkerProcess(
      {
        pid: entry.pid,
        exited,
        kill: (signal) => {
          if (processRuns(entry)) process.kill(entry.pid, signal);
        },
      },
      entry.port,
    );
  }

  /**
   * Starts a worker and resolves once it serves (its model passed warm-up).
   *
   * @throws MlDeployError with the worker's own error when it fails to start; `TEMPORARILY_UNAVAILABLE`
   *   when `signal` aborts the start (the control plane is stopping), after the worker was told to stop.
   */
  static start(
    spec: WorkerSpec,
    log: Logger,
    env: Readonly<Record<string, string | undefined>>,
    { timeoutMs = 600_000, signal }: { timeoutMs?: number; signal?: AbortSignal | undefined } = {},
  ): Promise<WorkerProcess> {
    // Detached (a process group of its own): a Ctrl-C meant for a control plane in the foreground
    // does not reach the data plane; the control plane stops its workers itself.
    const child = fork(WORKER_MAIN, [JSON.stringify(spec)], { env: { ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
    // Whole lines, however the pipe splits them, so that a worker's JSON records stay parseable.
    const relay = (stream: Readable | null, name: 'stdout' | 'stderr'): void => {
      if (stream !== null) onLines(stream, (line) => recordWorkerLine(log, line, name));
    };
    relay(child.stdout, 'stdout');
    relay(child.stderr, 'stderr');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new MlDeployError('DEADLINE_EXCEEDED', `The model worker did not become ready within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const abort = (): void => {
        // SIGTERM: a worker that is loading its model stops it (and MLflow's server) on its way out.
        child.kill('SIGTERM');
        fail(
          new MlDeployError('TEMPORARILY_UNAVAILABLE', 'The control plane is stopping: the model worker was stopped before it was ready'),
        );
      };
      const fail = (error: MlDeployError): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        reject(error);
      };
      if (signal?.aborted) abort();
      else signal?.addEventListener('abort', abort, { once: true });
      child.once('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          signal?.removeEventListener('abort', abort);
          log.info({ event: 'ready' }, `serving on port ${message.port}`);
          resolve(new WorkerProcess(childHandle(child), message.port));
        } else {
          const code = isErrorCode(message.error.error_code) ? message.error.error_code : 'INTERNAL_ERROR';
          fail(new MlDeployError(code, message.error.message, { hint: message.error.hint }));
        }
      });
      child.once('exit', (code, signal) =>
        fail(
          new MlDeployError(
            'INVALID_STATE',
            `The model worker exited before it was ready (${code === null ? `signal ${signal}` : `code ${code}`})`,
            { hint: 'See mldeploy logs --name <deployment>.' },
          ),
        ),
      );
      child.once('error', (error) =>
        fail(new MlDeployError('INTERNAL_ERROR', `Could not start a model worker: ${error.message}`, { cause: error })),
      );
    });
  }

  /** Called when the worker exits without being asked to. */
  onCrash(handler: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    this.exitHandlers.push(handler);
  }

  /**
   * Asks the worker to stop accepting connections (SIGUSR2) and resolves once its port refuses
   * them, or it has exited, or after `timeoutMs`. The worker keeps answering the connections it
   * has until {@link stop}.
   */
  async stopAccepting(timeoutMs = 5_000): Promise<void> {
    this.stopping = true;
    this.handle.kill('SIGUSR2');
    let gone = false;
    void this.exited.then(() => (gone = true));
    await pollUntil(async () => (gone || !(await accepts(this.port)) ? true : undefined), {
      timeoutMs,
      minDelayMs: 5,
      maxDelayMs: 50,
      // Not closed in time (a stopped or overloaded process): the stop goes on all the same.
      onTimeout: () => new Error('still accepting'),
    }).catch(() => undefined);
  }

  /** Asks the worker to finish its requests and exit; kills it after `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopping = true;
    this.handle.kill('SIGTERM');
    const timer = setTimeout(() => this.handle.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

function childHandle(child: ChildProcess): ProcessHandle {
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    // A worker exists only once it reported ready over IPC, so its process was spawned.
    pid: child.pid!,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
