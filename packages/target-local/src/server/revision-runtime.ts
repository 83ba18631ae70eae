import { MlDeployError } from '@mldeploy/core';
import type { ReplicaLabel } from './deployment-logs.js';
import type { Logger } from './logger.js';
import type { RevisionRecord } from './state-store.js';
import { WorkerProcess } from './worker-process.js';
import type { WorkerSpec } from './worker-protocol.js';
import type { WorkerRegistry } from './worker-registry.js';

/**
 * How the runtime starts workers: the spec of a revision, where logs go, where workers are
 * recorded; and how it deals with the gateway, which holds the requests in flight.
 */
export interface WorkerLauncher {
  spec(revision: RevisionRecord): Omit<WorkerSpec, 'replica'>;
  log(replica: ReplicaLabel): Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly registry: WorkerRegistry;
  /** Aborted when the control plane stops: worker starts in flight give up at once. */
  readonly stopping?: AbortSignal | undefined;
  /** Told whenever a replica starts serving or goes away, so that the gateway learns of it. */
  replicasChanged(): void;
  /** Resolves once the gateway has no request in flight to these workers' ports, or at `deadline` (epoch ms). */
  drained(ports: readonly number[], deadline: number): Promise<void>;
}

const MAX_BACKOFF_MS = 10_000;

/**
 * The running replicas of one revision. Replicas that crash are restarted with exponential
 * backoff (100 ms doubling to 10 s, reset once a replica has stayed up for a minute); while one
 * is down, traffic goes to the others.
 */
export class RevisionRuntime {
  private replicas: (WorkerProcess | undefined)[] = [];
  private stopped = false;
  private restarts = 0;
  private bodyLimit: number | undefined;

  constructor(
    readonly revision: RevisionRecord,
    private readonly replicaCount: number,
    private readonly launcher: WorkerLauncher,
  ) {}

  /** The largest request body this revision accepts (its `max_body_size`). */
  get maxBodyBytes(): number {
    this.bodyLimit ??= this.launcher.spec(this.revision).maxBodyBytes;
    return this.bodyLimit;
  }

  /**
   * Starts every replica, but takes over `adopted` ones (replica index → a worker an earlier
   * control plane started, still serving); if one fails, stops the others and throws its error.
   */
  async start(adopted: ReadonlyMap<number, WorkerProcess> = new Map()): Promise<void> {
    const results = await Promise.allSettled(
      Array.from({ length: this.replicaCount }, (_, i) => {
        const worker = adopted.get(i);
        if (worker === undefined) return this.launch(i);
        this.watch(i, worker, 0);
        return Promise.resolve();
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await this.stop(5_000);
      throw failed.reason;
    }
  }

  /** Live replicas. */
  get live(): WorkerProcess[] {
    return this.replicas.filter((r): r is WorkerProcess => r !== undefined);
  }

  /** Restarts after crashes so far. */
  get restartCount(): number {
    return this.restarts;
  }

  /**
   * Waits until the gateway has no request in flight to these replicas (or `graceMs` passes),
   * then stops every replica.
   */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopped = true;
    const deadline = Date.now() + graceMs;
    await this.launcher.drained(
      this.live.map((r) => r.port),
      deadline,
    );
    const replicas = this.live;
    this.replicas = [];
    // Every replica stops accepting before any sends its clients away (see ScoringServer.stopAccepting).
    await Promise.all(replicas.map((r) => r.stopAccepting()));
    await Promise.all(replicas.map((r) => r.stop(Math.max(1_000, deadline - Date.now()))));
  }

  private async launch(index: number, attempt = 0): Promise<void> {
    const { deployment, revision } = this.revision;
    const log = this.launcher.log({ deployment, revision, replica: index });
    const worker = await WorkerProcess.start({ ...this.launcher.spec(this.revision), replica: index }, log, this.launcher.env, {
      signal: this.launcher.stopping,
    });
    if (this.stopped) {
      await worker.stop();
      return;
    }
    // The worker recorded itself in the registry before it reported ready (see worker-main.ts).
    this.watch(index, worker, attempt);
  }

  /** Puts a serving worker in its slot, and restarts it (with backoff) when it exits unasked. */
  private watch(index: number, worker: WorkerProcess, attempt: number): void {
    const { deployment, revision } = this.revision;
    const log = this.launcher.log({ deployment, revision, replica: index });
    this.replicas[index] = worker;
    this.launcher.replicasChanged();
    const startedAt = Date.now();
    void worker.exited.then(() => this.launcher.registry.forget({ deployment, revision, replica: index, pid: worker.pid }));
    worker.onCrash((code, signal) => {
      this.replicas[index] = undefined;
      if (this.stopped) return;
      this.launcher.replicasChanged();
      this.restarts += 1;
      const next = Date.now() - startedAt > 60_000 ? 0 : attempt + 1;
      const delay = Math.min(100 * 2 ** next, MAX_BACKOFF_MS);
      const how = code === null && signal === null ? 'exited' : `exited with ${code === null ? `signal ${signal}` : `code ${code}`}`;
      log.error({ event: 'crashed' }, `${how}; restarting in ${delay} ms`);
      setTimeout(() => {
        if (!this.stopped)
          void this.launch(index, next).catch((error: unknown) => log.error({ event: 'restart-failed' }, (error as Error).message));
      }, delay).unref();
    });
  }
}

/** The error for a request that finds no live replica. */
export function noReplica(deployment: string): MlDeployError {
  return new MlDeployError('TEMPORARILY_UNAVAILABLE', `Deployment "${deployment}" has no live replica right now`, {
    hint: 'A crashed replica is being restarted; retry shortly, or see mldeploy logs.',
  });
}
