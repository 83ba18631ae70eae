import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { MlDeployError, isErrorCode } from '@mldeploy/core';
import { recordWorkerLine } from './log-record.js';
import type { Logger } from './logger.js';
import type { WorkerMessage, WorkerSpec } from './worker-protocol.js';

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));

/**
 * One model worker process, from start to exit. Workers are separate processes so that a model
 * that crashes (or a native library that aborts) takes down only itself.
 */
export class WorkerProcess {
  /** Requests being proxied to this worker now. */
  inFlight = 0;
  private exitHandlers: ((code: number | null, signal: NodeJS.Signals | null) => void)[] = [];
  private stopping = false;
  readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      child.once('exit', (code, signal) => {
        resolve();
        if (!this.stopping) for (const handler of this.exitHandlers) handler(code, signal);
      });
    });
  }

  get pid(): number {
    // A worker exists only once it reported ready over IPC, so its process was spawned.
    return this.child.pid!;
  }

  /**
   * Starts a worker and resolves once it serves (its model passed warm-up).
   *
   * @throws MlDeployError with the worker's own error when it fails to start.
   */
  static start(
    spec: WorkerSpec,
    log: Logger,
    env: Readonly<Record<string, string | undefined>>,
    timeoutMs = 600_000,
  ): Promise<WorkerProcess> {
    const child = fork(WORKER_MAIN, [JSON.stringify(spec)], { env: { ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    // Whole lines, however the pipe splits them, so that a worker's JSON records stay parseable.
    const relay = (stream: Readable | null, name: 'stdout' | 'stderr'): void => {
      if (stream !== null) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => recordWorkerLine(log, line, name));
    };
    relay(child.stdout, 'stdout');
    relay(child.stderr, 'stderr');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new MlDeployError('DEADLINE_EXCEEDED', `The model worker did not become ready within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const fail = (error: MlDeployError): void => {
        clearTimeout(timer);
        reject(error);
      };
      child.once('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          log.info({ event: 'ready' }, `serving on port ${message.port}`);
          resolve(new WorkerProcess(child, message.port));
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

  /** Asks the worker to finish its requests and exit; kills it after `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
