import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  MlDeployError,
  checkResourceName,
  maskSecrets,
  toMlDeployError,
  isMlDeployError,
  type AuditVerification,
  type Rollout,
  type RolloutRequest,
  type RolloutAction,
} from '@mldeploy/core';
import { chooseFlavor, probeLoopbackPort, readMlModel } from '@mldeploy/serving';
import type { DeploymentChange, DeploymentView, EndpointView, ModelSource, NewDeployment, RevisionView } from './control-plane-views.js';
import { DeploymentLogs } from './deployment-logs.js';
import type { GatewayConnection } from './gateway-process.js';
import { KeyedLock } from './keyed-lock.js';
import { parseDeploymentSettings, parseEndpointSettings, type DeploymentSettings } from './local-config.js';
import type { LogRecord } from './log-record.js';
import type { Logger } from './logger.js';
import { localModel } from './model-source.js';
import { RevisionRuntime, type WorkerLauncher } from './revision-runtime.js';
import type { RotationLimits } from './rotating-file.js';
import { RoutingTable, type RouteChange } from './routing-table.js';
import type { ShadowSummary } from './shadow-stats.js';
import { damagedDatabase } from './storage-errors.js';
import {
  CONTROL_PLANE_ACTOR,
  StateStore,
  type AuditEntry,
  type EndpointConfig,
  type EndpointRecord,
  type RevisionRecord,
} from './state-store.js';
import { RolloutEngine } from './rollouts/rollout-engine.js';
import { WorkerLogServer } from './worker-log-server.js';
import { WorkerProcess } from './worker-process.js';
import { processRuns } from './process-identity.js';
import { WorkerRegistry, type WorkerEntry } from './worker-registry.js';

/** How the control plane runs: its home, its environment, where it logs. */
export interface ControlPlaneOptions {
  readonly home: string;
  /** The environment workers get; without credentials (the client downloads models). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly mlflowCommand: string;
  readonly serverVersion: string;
  /** The control plane's own log (`logs/server.log` when it runs in the background). */
  readonly logger: Logger;
  /** Size limits of the per-deployment log files. */
  readonly logRotation?: RotationLimits | undefined;
  /**
   * Aborted when the process is asked to stop (SIGTERM, SIGINT): workers still starting, during
   * recovery or an update, are stopped at once instead of being waited for (up to minutes).
   */
  readonly stopping?: AbortSignal | undefined;
}

function missing(kind: 'Deployment' | 'Endpoint', name: string): MlDeployError {
  return new MlDeployError('RESOURCE_DOES_NOT_EXIST', `${kind} "${name}" does not exist on the local target`, {
    target: 'local',
    hint: `See what exists with 'mldeploy ${kind === 'Deployment' ? 'list' : 'list-endpoints'} -t local'.`,
  });
}

type Candidate = Omit<RevisionRecord, 'revision' | 'createdAt'>;

/** A change being attempted, as its audit entry names it should it fail. */
interface Attempt {
  readonly action: string;
  readonly subject: string;
  readonly kind: 'deployment' | 'endpoint';
  /** Who asked (see api-caller.ts). */
  readonly actor: string;
  /** What was asked, for the entry's detail (secrets masked there). */
  readonly request: Readonly<Record<string, unknown>>;
}

/** How much of a failure's message its audit entry keeps. */
const RESULT_MESSAGE_LIMIT = 500;

/**
 * The local target's control plane: it owns the state (SQLite) and the model workers, and
 * carries out every lifecycle operation. Changes to one deployment are serialised; a revision is
 * recorded only once its workers serve, and traffic switches to it in one step of the routing
 * table.
 */
export class ControlPlane {
  private readonly table = new RoutingTable();
  /** Changes to one deployment are serialised; different deployments change in parallel. */
  private readonly locks = new KeyedLock();
  private readonly launcher: WorkerLauncher;
  /** Deployments whose revision failed to start after a restart, with why. */
  private readonly failures = new Map<string, string>();
  /** Deployment ports being given to a revision that has not been recorded yet. */
  private readonly claimedPorts = new Set<number>();

  private readonly registry: WorkerRegistry;
  private readonly logServer: WorkerLogServer;
  /** The gateway process, which routes by a copy of the table; none until {@link attach}. */
  private gatewayConnection: GatewayConnection | undefined;
  /** Until recovery has put every adopted worker in the table, the gateway keeps the routes it has. */
  private holding = true;
  private ready = false;
  /** Metric-gated rollouts of endpoints' traffic, resumed by {@link recover}. */
  private readonly rollouts: RolloutEngine;

  /** No I/O: {@link ControlPlane.open} creates the home and opens the state. */
  constructor(
    private readonly options: ControlPlaneOptions,
    private readonly store: StateStore,
    private readonly deploymentLogs: DeploymentLogs,
  ) {
    this.registry = new WorkerRegistry(options.home);
    const logSocket = path.join(options.home, 'run', 'logs.sock');
    this.logServer = new WorkerLogServer(logSocket, (replica) => deploymentLogs.replica(replica));
    this.launcher = {
      env: options.env,
      registry: this.registry,
      stopping: options.stopping,
      spec: (revision) => {
        const settings = parseDeploymentSettings(revision.config);
        return {
          modelDir: revision.modelDir,
          flavor: revision.flavor,
          name: revision.deployment,
          revision: revision.revision,
          sharedPort: settings.port === 0 ? undefined : settings.port,
          logSocket,
          home: options.home,
          version: revision.modelVersion ?? undefined,
          requestTimeoutMs: settings.timeout * 1000,
          maxBodyBytes: settings.max_body_size,
          mlflowCommand: settings.mlflow_command ?? options.mlflowCommand,
          serverVersion: options.serverVersion,
        };
      },
      log: (replica) => deploymentLogs.replica(replica),
      replicasChanged: () => void this.publish(),
      drained: async (ports, deadline) => this.gatewayConnection?.drained(ports, deadline).catch(() => undefined),
    };
    this.rollouts = new RolloutEngine({
      store,
      logger: options.logger,
      serves: (deployment) => (this.table.deployment(deployment) ?? null) !== null,
      route: async (endpoint, config, action, actor) => {
        await this.writeEndpoint(endpoint, config, action, actor);
      },
      requests: async () => this.gatewayConnection?.requests(),
      shadows: () => this.shadows(),
    });
  }

  /** Creates the home's folders, opens its state and returns the control plane over them. */
  static async open(options: ControlPlaneOptions): Promise<ControlPlane> {
    const logDir = path.join(options.home, 'logs');
    await mkdir(logDir, { recursive: true, mode: 0o700 });
    await mkdir(path.join(options.home, 'run'), { recursive: true, mode: 0o700 });
    const store = new StateStore(path.join(options.home, 'state.db'));
    // A deployment's log that cannot be written (a full disk) is reported once in the control plane's own.
    const report = (message: string, recovered: boolean): void =>
      options.logger[recovered ? 'warn' : 'error']({ event: recovered ? 'log-write-recovered' : 'log-write-failed' }, message);
    const plane = new ControlPlane(options, store, new DeploymentLogs(logDir, options.logger.level, options.logRotation, report));
    await plane.logServer.listen().catch((error: unknown) => {
      // Serving does not depend on it: only the logs of workers adopted after a crash would be missed.
      options.logger.warn({ err: error }, `the workers' log socket could not listen: ${(error as Error).message}`);
    });
    return plane;
  }

  /** The gateway process this control plane routes through, once attached. */
  get gateway(): GatewayConnection | undefined {
    return this.gatewayConnection;
  }

  /** Routes through `gateway` from now on; it gets the table at once, or once {@link recover} has built it. */
  async attach(gateway: GatewayConnection): Promise<void> {
    this.gatewayConnection = gateway;
    await this.publish();
  }

  /** Tells the gateway that every recorded deployment was brought back (OIP server readiness). */
  async markReady(): Promise<void> {
    this.ready = true;
    await this.publish();
  }

  /** The private ports of every live worker. */
  workerPorts(): number[] {
    return this.table.workerPorts();
  }

  /** Each endpoint's shadow comparison, by endpoint (kept by the gateway, which mirrors the requests); none when it does not answer. */
  async shadows(): Promise<Record<string, ShadowSummary>> {
    return (await this.gatewayConnection?.shadows().catch(() => undefined)) ?? {};
  }

  /**
   * Starts every recorded deployment's current revision (after a restart or a crash). Each is
   * in the routing table from the start, so that a prediction meanwhile gets "no live replica"
   * (503), not "no such deployment" (404).
   */
  async recover(): Promise<void> {
    const deployments = this.store.deployments();
    // All read before anything starts: state that cannot be read fails the start with no worker running.
    const revisions = deployments.map((d) => {
      const revision = this.store.revision(d.name, d.revision);
      if (revision === undefined)
        throw damagedDatabase(this.store.file, `deployment "${d.name}" serves revision ${d.revision}, which is not in it`);
      return revision;
    });
    for (const deployment of deployments) this.table.apply({ deployment: deployment.name, runtime: null });
    for (const endpoint of this.store.endpoints()) this.table.apply({ endpoint: endpoint.name, config: endpoint.config });
    const adoptable = await this.adoptableWorkers();
    // Each start puts its adopted workers in the table at once, before its first await.
    const recovering = Promise.all(
      deployments.map(async (deployment, i) => {
        const revision = revisions[i]!;
        try {
          await this.startRevision(revision, adoptable.get(`${deployment.name}\0${deployment.revision}`));
        } catch (error) {
          const cause = toMlDeployError(error);
          this.failures.set(deployment.name, cause.message);
          this.options.logger.error(
            { deployment: deployment.name, revision: revision.revision, err: error },
            `recover: deployment ${deployment.name} revision ${revision.revision} failed to start: ${cause.message}`,
          );
        }
      }),
    );
    // Only now, with every adopted worker in it: an adopted gateway meanwhile kept routing by what it had.
    this.holding = false;
    await this.publish();
    await recovering;
    this.rollouts.resume();
  }

  async createDeployment(request: NewDeployment, actor = CONTROL_PLANE_ACTOR): Promise<DeploymentView> {
    const { name } = request;
    const attempt: Attempt = { action: 'create', subject: name, kind: 'deployment', actor, request: modelRequest(request) };
    return this.recording(attempt, () => this.create(request, actor));
  }

  private async create(request: NewDeployment, actor: string): Promise<DeploymentView> {
    const { name } = request;
    checkResourceName('deployment', name, 'local');
    const settings = parseDeploymentSettings(request.config);
    return this.locks.run(name, async () => {
      if (this.store.deployment(name) !== undefined) {
        throw new MlDeployError('RESOURCE_ALREADY_EXISTS', `Deployment "${name}" already exists on the local target`, {
          target: 'local',
          hint: `Change it with 'mldeploy update -t local --name ${name}', or pick another name.`,
        });
      }
      try {
        await this.switchTo(await this.prepareRevision(name, request, request.flavor, settings, 'create'), 'create', actor);
      } catch (error) {
        // Nothing was created: its log keeps the failure, without a descriptor held for it.
        this.deploymentLogs.close(name);
        throw error;
      }
      return this.describe(name);
    });
  }

  async updateDeployment(name: string, change: DeploymentChange, actor = CONTROL_PLANE_ACTOR): Promise<DeploymentView> {
    const attempt: Attempt = { action: 'update', subject: name, kind: 'deployment', actor, request: modelRequest(change) };
    return this.recording(attempt, () => {
      this.refuseWhileInRollout(name, 'updated');
      return this.update(name, change, actor);
    });
  }

  private async update(name: string, change: DeploymentChange, actor: string): Promise<DeploymentView> {
    return this.locks.run(name, async () => {
      const current = this.currentRevision(name);
      if (change.flavor !== undefined && change.modelUri === undefined) {
        throw new MlDeployError('INVALID_PARAMETER_VALUE', 'Changing the flavor requires a model URI', {
          target: 'local',
          hint: 'Pass -m along with -f.',
        });
      }
      const settings = parseDeploymentSettings(change.config, current.config);
      const candidate: Candidate =
        change.modelUri === undefined
          ? {
              deployment: current.deployment,
              modelUri: current.modelUri,
              modelDir: current.modelDir,
              modelVersion: current.modelVersion,
              flavor: current.flavor,
              config: settings,
              reason: 'update',
            }
          : await this.prepareRevision(name, { ...change, modelUri: change.modelUri }, change.flavor, settings, 'update');
      await this.switchTo(candidate, 'update', actor);
      return this.describe(name);
    });
  }

  async rollback(name: string, toRevision?: number, actor = CONTROL_PLANE_ACTOR): Promise<DeploymentView> {
    const attempt: Attempt = { action: 'rollback', subject: name, kind: 'deployment', actor, request: { to_revision: toRevision } };
    return this.recording(attempt, () => {
      this.refuseWhileInRollout(name, 'rolled back');
      return this.rollBack(name, toRevision, actor);
    });
  }

  private async rollBack(name: string, toRevision: number | undefined, actor: string): Promise<DeploymentView> {
    return this.locks.run(name, async () => {
      const current = this.currentRevision(name);
      const target =
        toRevision ??
        this.store
          .revisions(name)
          .filter((r) => r.revision < current.revision)
          .at(-1)?.revision;
      const old = target === undefined ? undefined : this.store.revision(name, target);
      if (old === undefined) {
        throw new MlDeployError(
          'RESOURCE_DOES_NOT_EXIST',
          target === undefined
            ? `Deployment "${name}" has no earlier revision to roll back to`
            : `Deployment "${name}" has no revision ${target}`,
          {
            target: 'local',
            hint: `See its revisions with 'mldeploy history -t local --name ${name}'.`,
          },
        );
      }
      const { revision: _number, createdAt: _at, ...content } = old;
      await this.switchTo({ ...content, reason: `rollback to ${old.revision}` }, 'rollback', actor);
      return this.describe(name);
    });
  }

  async deleteDeployment(name: string, actor = CONTROL_PLANE_ACTOR): Promise<void> {
    const attempt: Attempt = { action: 'delete', subject: name, kind: 'deployment', actor, request: {} };
    await this.recording(attempt, () => {
      this.refuseWhileInRollout(name, 'deleted');
      return this.remove(name, actor);
    });
  }

  private async remove(name: string, actor: string): Promise<void> {
    await this.locks.run(name, async () => {
      const users = this.store
        .endpoints()
        .filter((e) => e.config.traffic[name] !== undefined || e.config.shadow?.deployment === name)
        .map((e) => e.name);
      if (users.length > 0) {
        throw new MlDeployError('RESOURCE_CONFLICT', `Deployment "${name}" receives traffic from endpoint(s) ${users.join(', ')}`, {
          target: 'local',
          hint: 'Move its traffic elsewhere with update-endpoint, or delete the endpoint, first.',
        });
      }
      const existed = this.store.deployment(name) !== undefined;
      // The state first: when it cannot be changed, the deployment keeps serving.
      this.store.deleteDeployment(name, actor);
      const runtime = await this.route({ deployment: name, removed: true });
      this.failures.delete(name);
      await runtime?.stop();
      await this.deploymentLogs.remove(name);
      if (existed) this.options.logger.info({ deployment: name }, `delete: ${name} deleted, its workers stopped and its log removed`);
    });
  }

  listDeployments(): DeploymentView[] {
    return this.store.deployments().map((d) => this.describe(d.name));
  }

  getDeployment(name: string): DeploymentView {
    if (this.store.deployment(name) === undefined) throw missing('Deployment', name);
    return this.describe(name);
  }

  history(name: string): RevisionView[] {
    const deployment = this.store.deployment(name);
    if (deployment === undefined) throw missing('Deployment', name);
    return this.store.revisions(name).map((r) => ({ ...r, current: r.revision === deployment.revision }));
  }

  /** The last `count` records of a deployment's log. */
  async logs(name: string, count: number): Promise<LogRecord[]> {
    if (this.store.deployment(name) === undefined) throw missing('Deployment', name);
    return this.deploymentLogs.tail(name, count);
  }

  async createEndpoint(
    name: string,
    config: Readonly<Record<string, unknown>> | undefined,
    actor = CONTROL_PLANE_ACTOR,
  ): Promise<EndpointView> {
    const attempt: Attempt = { action: 'create-endpoint', subject: name, kind: 'endpoint', actor, request: { config } };
    return this.recording(attempt, async () => {
      checkResourceName('endpoint', name, 'local');
      if (this.store.endpoint(name) !== undefined) {
        throw new MlDeployError('RESOURCE_ALREADY_EXISTS', `Endpoint "${name}" already exists on the local target`, {
          target: 'local',
          hint: 'Change its traffic with update-endpoint.',
        });
      }
      return this.writeEndpoint(name, parseEndpointSettings(config), 'create-endpoint', actor);
    });
  }

  async updateEndpoint(
    name: string,
    config: Readonly<Record<string, unknown>> | undefined,
    actor = CONTROL_PLANE_ACTOR,
  ): Promise<EndpointView> {
    const attempt: Attempt = { action: 'update-endpoint', subject: name, kind: 'endpoint', actor, request: { config } };
    return this.recording(attempt, async () => {
      const current = this.store.endpoint(name);
      if (current === undefined) throw missing('Endpoint', name);
      this.refuseWhileRolling(name, 'changed');
      return this.writeEndpoint(name, parseEndpointSettings(config, current.config), 'update-endpoint', actor);
    });
  }

  async deleteEndpoint(name: string, actor = CONTROL_PLANE_ACTOR): Promise<void> {
    const attempt: Attempt = { action: 'delete-endpoint', subject: name, kind: 'endpoint', actor, request: {} };
    await this.recording(attempt, async () => {
      this.refuseWhileRolling(name, 'deleted');
      this.store.deleteEndpoint(name, actor);
      await this.route({ endpoint: name, removed: true });
    });
  }

  async listEndpoints(): Promise<EndpointView[]> {
    const shadows = await this.shadows();
    return this.store.endpoints().map((e) => this.describeEndpoint(e, shadows));
  }

  async getEndpoint(name: string): Promise<EndpointView> {
    const endpoint = this.store.endpoint(name);
    if (endpoint === undefined) throw missing('Endpoint', name);
    return this.describeEndpoint(endpoint, await this.shadows());
  }

  /** Starts a rollout of an endpoint's traffic to another deployment (see {@link RolloutEngine}). */
  async startRollout(request: RolloutRequest, actor = CONTROL_PLANE_ACTOR): Promise<Rollout> {
    return this.rollouts.start(request, this.store.endpoint(request.endpoint), actor);
  }

  getRollout(id: string): Rollout {
    return this.rollouts.get(id);
  }

  listRollouts(endpoint?: string): Rollout[] {
    return this.rollouts.list(endpoint);
  }

  async controlRollout(id: string, action: RolloutAction, actor = CONTROL_PLANE_ACTOR): Promise<Rollout> {
    return this.rollouts.control(id, action, actor);
  }

  /**
   * A rollout's two deployments stay as they are while it runs: its gates compare them, and its
   * end (a roll back to the one, or all traffic to the other) routes to them.
   */
  private refuseWhileInRollout(deployment: string, what: string): void {
    const rollout = this.rollouts.involving(deployment);
    if (rollout === undefined) return;
    throw new MlDeployError(
      'RESOURCE_CONFLICT',
      `Deployment "${deployment}" cannot be ${what}: rollout ${rollout.id} of endpoint ${rollout.endpoint} moves traffic ${rollout.from === deployment ? 'from' : 'to'} it`,
      { target: 'local', hint: `Wait for it, or stop it first: mldeploy rollout abort --id ${rollout.id}.` },
    );
  }

  /** An endpoint under a rollout is changed by the rollout only: a change by hand would be undone by its next step. */
  private refuseWhileRolling(endpoint: string, what: string): void {
    const rollout = this.rollouts.activeOn(endpoint);
    if (rollout === undefined) return;
    throw new MlDeployError(
      'RESOURCE_CONFLICT',
      `Endpoint "${endpoint}" cannot be ${what}: rollout ${rollout.id} is ${rollout.state} on it`,
      {
        target: 'local',
        hint: `Wait for it, or stop it first: mldeploy rollout abort --id ${rollout.id}.`,
      },
    );
  }

  /** The audit log, oldest first: the last `limit` entries, of one subject when given. */
  audit(subject: string | undefined, limit: number): AuditEntry[] {
    return this.store.auditLog(subject, limit);
  }

  /** Up to `limit` audit entries after id `after`, oldest first (the whole log, page by page). */
  auditPage(after: number, limit: number): AuditEntry[] {
    return this.store.auditPage(after, limit);
  }

  /** Checks the audit log's hash chain: intact, or its first edited, removed or re-ordered entry. */
  verifyAudit(): AuditVerification {
    return this.store.verifyAudit();
  }

  /**
   * Records that `actor` asked the control plane to stop: every deployment stops serving until the
   * next start. A record that cannot be written is logged: the stop goes ahead.
   */
  recordShutdown(actor: string): void {
    try {
      const count = this.store.deployments().length;
      this.store.appendAudit({
        action: 'shutdown',
        subject: 'control-plane',
        actor,
        detail: `the control plane stops; its ${count} deployment(s) stop serving until it starts again`,
      });
    } catch (error) {
      this.options.logger.error({ err: error }, `the shutdown could not be recorded in the audit log: ${toMlDeployError(error).message}`);
    }
  }

  /** Stops every worker (the state stays for the next start). */
  async shutdown(): Promise<void> {
    this.rollouts.stop();
    const runtimes = this.table.runtimes();
    for (const runtime of runtimes) this.table.apply({ deployment: runtime.revision.deployment, runtime: null });
    await this.publish();
    await Promise.all(runtimes.map((r) => r.stop()));
    await this.logServer.close();
    this.deploymentLogs.closeAll();
    this.store.close();
  }

  private async writeEndpoint(name: string, config: EndpointConfig, action: string, actor: string): Promise<EndpointView> {
    const named = [...Object.keys(config.traffic), ...(config.shadow === null ? [] : [config.shadow.deployment])];
    const unknown = named.filter((d) => this.store.deployment(d) === undefined);
    if (unknown.length > 0) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', `The endpoint names deployments that do not exist: ${unknown.join(', ')}`, {
        target: 'local',
        hint: "Create them first, or see what exists with 'mldeploy list -t local'.",
      });
    }
    if (config.shadow !== null && config.traffic[config.shadow.deployment] !== undefined) {
      throw new MlDeployError(
        'INVALID_PARAMETER_VALUE',
        `Deployment "${config.shadow.deployment}" cannot be both in the traffic split and the shadow`,
        { target: 'local' },
      );
    }
    const record = this.store.putEndpoint(name, config, action, actor);
    await this.route({ endpoint: name, config });
    this.options.logger.info({ endpoint: name }, `${action}: ${name} routes ${JSON.stringify(config.traffic)}`);
    return this.describeEndpoint(record, await this.shadows());
  }

  /**
   * Applies a change to the routing table and waits until the gateway routes by it, so that
   * what follows (stopping the workers that no longer serve) comes after the switch.
   */
  private async route(change: RouteChange): Promise<ReturnType<RoutingTable['apply']>> {
    const previous = this.table.apply(change);
    await this.publish();
    return previous;
  }

  /**
   * Hands the gateway the whole table. A gateway that does not take it is logged, not thrown:
   * the change is recorded, and the next table it takes includes it.
   */
  private async publish(): Promise<void> {
    if (this.holding) return;
    await this.gatewayConnection?.publish(this.table.snapshot(this.ready)).catch((error: unknown) => {
      this.options.logger.error({ err: error }, `the gateway did not take the routing table: ${toMlDeployError(error).message}`);
    });
  }

  /**
   * Runs a change; when it fails, appends the failure to the audit log and throws it on. (A
   * change that succeeds is recorded by the store, in the transaction that records the change.)
   */
  private async recording<T>(attempt: Attempt, change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } catch (error) {
      this.recordFailure(attempt, error);
      throw error;
    }
  }

  /** Appends a failed change to the audit log: its state (unchanged by the failure) before and after, and the error. */
  private recordFailure(attempt: Attempt, error: unknown): void {
    const typed = toMlDeployError(error);
    const message = typed.message.replace(/\s*\n\s*/g, ' ');
    try {
      const state =
        attempt.kind === 'deployment' ? this.store.deploymentAuditState(attempt.subject) : this.store.endpointAuditState(attempt.subject);
      this.store.appendAudit({
        action: attempt.action,
        subject: attempt.subject,
        actor: attempt.actor,
        detail: JSON.stringify(maskSecrets(attempt.request)),
        before: state,
        after: state,
        result: `error: ${typed.code} ${message.length > RESULT_MESSAGE_LIMIT ? `${message.slice(0, RESULT_MESSAGE_LIMIT)}…` : message}`,
      });
    } catch (failure) {
      // The state cannot be written (a full disk, say): the caller still gets the change's own error.
      this.options.logger.error(
        { err: failure, action: attempt.action, subject: attempt.subject },
        `the failed ${attempt.action} of ${attempt.subject} could not be recorded in the audit log: ${toMlDeployError(failure).message}`,
      );
    }
  }

  private describeEndpoint(endpoint: EndpointRecord, shadows: Readonly<Record<string, ShadowSummary>>): EndpointView {
    const shadow = shadows[endpoint.name];
    return {
      name: endpoint.name,
      config: endpoint.config,
      // A comparison of an earlier shadow is not this one's.
      shadowComparison: shadow?.deployment === endpoint.config.shadow?.deployment ? shadow : undefined,
      createdAt: endpoint.createdAt,
      updatedAt: endpoint.updatedAt,
    };
  }

  private describe(name: string): DeploymentView {
    const deployment = this.store.deployment(name)!;
    const revision = this.store.revision(name, deployment.revision)!;
    const runtime = this.table.deployment(name) ?? undefined;
    const settings = parseDeploymentSettings(revision.config);
    const live = runtime?.revision.revision === revision.revision ? runtime.live.length : 0;
    const error = this.failures.get(name);
    return {
      name,
      flavor: revision.flavor,
      modelUri: revision.modelUri,
      modelVersion: revision.modelVersion,
      revision: revision.revision,
      state: error !== undefined ? 'failed' : live === settings.replicas ? 'ready' : live > 0 ? 'degraded' : 'unavailable',
      error,
      replicas: settings.replicas,
      liveReplicas: live,
      restarts: runtime?.restartCount ?? 0,
      workers: (runtime?.live ?? []).map((w) => ({ pid: w.pid, port: w.port })),
      config: settings,
      createdAt: deployment.createdAt,
      updatedAt: deployment.updatedAt,
    };
  }

  private currentRevision(name: string): RevisionRecord {
    const deployment = this.store.deployment(name);
    if (deployment === undefined) throw missing('Deployment', name);
    return this.store.revision(name, deployment.revision)!;
  }

  /** Checks the model's local directory (the client resolved it) and that it can be served, before anything starts. */
  private async prepareRevision(
    name: string,
    source: ModelSource,
    flavor: string | undefined,
    settings: DeploymentSettings,
    reason: string,
  ): Promise<Candidate> {
    const local = await localModel(source, this.options.home);
    const model = await readMlModel(local.dir);
    return {
      deployment: name,
      modelUri: source.modelUri,
      modelDir: local.dir,
      modelVersion: local.version,
      flavor: chooseFlavor(model, flavor),
      config: settings,
      reason,
    };
  }

  /**
   * The zero-downtime switch: the new revision's workers start beside the old ones; once all
   * serve, the revision is recorded and traffic moves to it in one step; the old workers finish
   * the requests they hold, then stop. If the new revision fails, the old keeps serving.
   */
  private async switchTo(candidate: Candidate, action: string, actor: string): Promise<void> {
    const name = candidate.deployment;
    for (let attempt = 1; ; attempt += 1) {
      const { port, picked } = await this.claimPort(name, parseDeploymentSettings(candidate.config).port);
      try {
        await this.startAndSwitch({ ...candidate, config: { ...candidate.config, port } }, action, actor);
        return;
      } catch (error) {
        // A port found free here can be taken by another program before the workers bind it (seen
        // in CI under load): when mldeploy picked it, it picks another; a port the user named is theirs to change.
        if (!picked || attempt >= 3 || !isMlDeployError(error) || error.code !== 'RESOURCE_CONFLICT') throw error;
        this.options.logger.warn({ deployment: name }, `port ${port} was taken before the workers bound it; picking another`);
      } finally {
        this.claimedPorts.delete(port);
      }
    }
  }

  /**
   * The deployment's own port for a new revision: the one asked for, or (0) the one it has, or
   * a free one. A port no other deployment has, and, unless this deployment's replicas hold it
   * already, one no process holds: SO_REUSEPORT would otherwise let two of them share it.
   *
   * `picked`: a free port chosen here (neither asked for nor the deployment's own).
   *
   * @throws MlDeployError `RESOURCE_CONFLICT` when the port is taken.
   */
  private async claimPort(name: string, asked: number): Promise<{ port: number; picked: boolean }> {
    const current = this.store.deployment(name) === undefined ? undefined : parseDeploymentSettings(this.currentRevision(name).config).port;
    const port = asked !== 0 ? asked : current !== undefined && current !== 0 ? current : await probeLoopbackPort();
    const owner = this.store
      .deployments()
      .find((d) => d.name !== name && parseDeploymentSettings(this.store.revision(d.name, d.revision)!.config).port === port);
    if (owner !== undefined || this.claimedPorts.has(port)) {
      throw new MlDeployError('RESOURCE_CONFLICT', `Port ${port} is the port of deployment "${owner?.name ?? 'being created'}"`, {
        target: 'local',
        hint: 'Pick another with -C port=N, or leave it out for a free one.',
      });
    }
    if (port !== current) {
      await probeLoopbackPort(port).catch((error: unknown) => {
        throw new MlDeployError('RESOURCE_CONFLICT', `Port ${port} on 127.0.0.1 is in use by another program`, {
          target: 'local',
          hint: 'Pick another with -C port=N, or leave it out for a free one.',
          cause: error,
        });
      });
    }
    this.claimedPorts.add(port);
    return { port, picked: asked === 0 && (current === undefined || current === 0) };
  }

  private async startAndSwitch(candidate: Candidate, action: string, actor: string): Promise<void> {
    const name = candidate.deployment;
    const settings = parseDeploymentSettings(candidate.config);
    const planned = { ...candidate, revision: this.store.nextRevision(name) };
    const runtime = new RevisionRuntime({ ...planned, createdAt: new Date().toISOString() }, settings.replicas, this.launcher);
    const serving = this.table.deployment(name) ?? undefined;
    try {
      await runtime.start();
    } catch (error) {
      const cause = toMlDeployError(error);
      const outcome = serving === undefined ? 'nothing was created' : 'so the current one keeps serving';
      this.options.logger.warn(
        { deployment: name, revision: planned.revision },
        `${action}: revision ${planned.revision} of ${name} did not become ready, ${outcome}: ${cause.message}`,
      );
      throw new MlDeployError(cause.code, `Revision ${planned.revision} of "${name}" did not become ready, ${outcome}: ${cause.message}`, {
        target: 'local',
        cause: error,
        hint: cause.hint ?? `See 'mldeploy logs -t local --name ${name}'.`,
      });
    }
    let record: RevisionRecord;
    try {
      record = this.store.commitRevision(planned, action, actor);
    } catch (error) {
      // Not recorded (a full disk, say): its workers must not outlive the failed change.
      await runtime.stop();
      throw error;
    }
    const old = await this.route({ deployment: name, runtime });
    this.failures.delete(name);
    this.options.logger.info({ deployment: name, revision: record.revision }, `${action}: ${name} now serves revision ${record.revision}`);
    await old?.stop();
  }

  private async startRevision(revision: RevisionRecord, adopted: ReadonlyMap<number, WorkerProcess> = new Map()): Promise<void> {
    const settings = parseDeploymentSettings(revision.config);
    const runtime = new RevisionRuntime(revision, settings.replicas, this.launcher);
    // Adopted workers serve at once (start takes them before it awaits anything); missing replicas start beside them.
    const started = runtime.start(adopted);
    if (adopted.size > 0) await this.route({ deployment: revision.deployment, runtime });
    await started;
    const old = await this.route({ deployment: revision.deployment, runtime });
    this.options.logger.info(
      { deployment: revision.deployment, revision: revision.revision },
      `recover: ${revision.deployment} serves revision ${revision.revision} again` +
        (adopted.size > 0 ? ` (${adopted.size} of ${settings.replicas} replica(s) adopted, still serving)` : ''),
    );
    if (old !== runtime) await old?.stop();
  }

  /**
   * Workers an earlier control plane left serving (it was killed): those of a deployment's current
   * revision that answer /ping are adopted, keyed by deployment and revision, then replica; any
   * other (an old revision, a deleted deployment, a second worker for a slot) is stopped.
   */
  private async adoptableWorkers(): Promise<Map<string, Map<number, WorkerProcess>>> {
    const adoptable = new Map<string, Map<number, WorkerProcess>>();
    for (const entry of await this.registry.entries()) {
      if (!processRuns(entry)) {
        await this.registry.forget(entry);
        continue;
      }
      const deployment = this.store.deployment(entry.deployment);
      const replicas =
        deployment === undefined ? 0 : parseDeploymentSettings(this.store.revision(deployment.name, deployment.revision)!.config).replicas;
      const key = `${entry.deployment}\0${entry.revision}`;
      const slots = adoptable.get(key) ?? new Map<number, WorkerProcess>();
      if (deployment?.revision === entry.revision && entry.replica < replicas && !slots.has(entry.replica) && (await answersPing(entry))) {
        slots.set(entry.replica, WorkerProcess.adopt(entry));
        adoptable.set(key, slots);
        continue;
      }
      this.options.logger.info(
        { deployment: entry.deployment, revision: entry.revision },
        `recover: stopping worker ${entry.pid}, left by an earlier control plane`,
      );
      await WorkerProcess.adopt(entry).stop(10_000);
      await this.registry.forget(entry);
    }
    return adoptable;
  }
}

/** Whether a recorded worker serves (its /ping answers 200 within 2 s). */
async function answersPing(entry: WorkerEntry): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${entry.port}/ping`, { signal: AbortSignal.timeout(2_000) })).status === 200;
  } catch {
    return false;
  }
}

/** What a create or update asked for, as its audit entry's detail shows it. */
function modelRequest(request: DeploymentChange): Record<string, unknown> {
  return { model_uri: request.modelUri, model_version: request.modelVersion, flavor: request.flavor, config: request.config };
}
