import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { MlDeployError, toMlDeployError } from '@mldeploy/core';
import { mlflowConnectionFromEnv } from '@mldeploy/serving';
import { readMlModel } from '@mldeploy/serving';
import { resolveModel } from '@mldeploy/serving';
import { chooseFlavor } from '@mldeploy/serving';
import { parseDeploymentSettings, parseEndpointSettings } from './local-config.js';
import { parseLogLine, type LogRecord } from './log-record.js';
import { RevisionRuntime, type WorkerLauncher } from './revision-runtime.js';
import { ShadowStats } from './shadow-stats.js';
import { StateStore, type EndpointConfig, type EndpointRecord, type RevisionRecord } from './state-store.js';

/** How the control plane runs: its home, its environment, and the gateway URL deployments are reached at. */
export interface ControlPlaneOptions {
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cacheDir: string;
  readonly mlflowCommand: string;
  readonly serverVersion: string;
  /** Where the gateway listens; set with {@link ControlPlane.setGatewayUrl} once it does. */
  readonly gatewayUrl: string;
  readonly log: (line: string) => void;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function checkName(kind: string, name: string): void {
  if (!NAME.test(name)) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid ${kind} name ${JSON.stringify(name)}`, {
      target: 'local',
      hint: 'Names have 1 to 63 characters: letters, digits, ".", "_" and "-", starting with a letter or digit.',
    });
  }
}

function missing(kind: 'Deployment' | 'Endpoint', name: string): MlDeployError {
  return new MlDeployError('RESOURCE_DOES_NOT_EXIST', `${kind} "${name}" does not exist on the local target`, {
    target: 'local',
    hint: `See what exists with 'mldeploy ${kind === 'Deployment' ? 'list' : 'list-endpoints'} -t local'.`,
  });
}

/**
 * The local target's control plane: it owns the state (SQLite) and the model workers, and
 * carries out every lifecycle operation. Changes to one deployment are serialised; a revision is
 * recorded only once its workers serve, and traffic switches to it in one assignment.
 */
export class ControlPlane {
  readonly store: StateStore;
  /** Deployment → the revision serving its traffic. Replaced whole on a switch. */
  readonly routes = new Map<string, RevisionRuntime>();
  readonly shadows = new Map<string, ShadowStats>();
  /** Endpoint → routing config, kept in step with the store so that routing never queries SQLite. */
  readonly endpointRoutes = new Map<string, EndpointConfig>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly logStreams = new Map<string, WriteStream>();
  private readonly launcher: WorkerLauncher;
  /** Deployments whose revision failed to start after a restart, with why. */
  private readonly failures = new Map<string, string>();

  private gatewayUrl: string;

  constructor(private readonly options: ControlPlaneOptions) {
    this.gatewayUrl = options.gatewayUrl;
    this.store = new StateStore(path.join(options.home, 'state.db'));
    this.launcher = {
      env: options.env,
      spec: (revision) => {
        const settings = parseDeploymentSettings(revision.config);
        return {
          modelDir: revision.modelDir,
          flavor: revision.flavor,
          name: revision.deployment,
          version: revision.modelVersion ?? undefined,
          requestTimeoutMs: settings.timeout * 1000,
          maxBodyBytes: settings.max_body_size,
          mlflowCommand: options.mlflowCommand,
          serverVersion: options.serverVersion,
        };
      },
      log: (deployment) => this.logStream(deployment),
    };
  }

  /** The gateway's base URL, which deployment and endpoint URLs are built on. */
  setGatewayUrl(url: string): void {
    this.gatewayUrl = url;
  }

  /** Starts every recorded deployment's current revision (after a restart or a crash). */
  async recover(): Promise<void> {
    await Promise.all(
      this.store.deployments().map(async (deployment) => {
        const revision = this.store.revision(deployment.name, deployment.revision)!;
        try {
          await this.startRevision(revision);
        } catch (error) {
          this.failures.set(deployment.name, toMlDeployError(error).message);
          this.options.log(`recover: deployment ${deployment.name} revision ${revision.revision} failed to start: ${toMlDeployError(error).message}`);
        }
      }),
    );
    for (const endpoint of this.store.endpoints()) {
      this.endpointRoutes.set(endpoint.name, endpoint.config);
      if (endpoint.config.shadow !== null) this.shadows.set(endpoint.name, new ShadowStats(endpoint.config.shadow.deployment));
    }
  }

  async createDeployment(name: string, modelUri: string, flavor: string | undefined, config: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
    checkName('deployment', name);
    const settings = parseDeploymentSettings(config);
    return this.exclusive(name, async () => {
      if (this.store.deployment(name) !== undefined) {
        throw new MlDeployError('RESOURCE_ALREADY_EXISTS', `Deployment "${name}" already exists on the local target`, {
          target: 'local',
          hint: `Change it with 'mldeploy update -t local --name ${name}', or pick another name.`,
        });
      }
      const candidate = await this.prepareRevision(name, modelUri, flavor, settings, 'create');
      await this.switchTo(candidate.record, 'create');
      return this.describe(name);
    });
  }

  async updateDeployment(name: string, change: { modelUri?: string; flavor?: string; config?: Readonly<Record<string, unknown>> }): Promise<Record<string, unknown>> {
    return this.exclusive(name, async () => {
      const current = this.currentRevision(name);
      if (change.flavor !== undefined && change.modelUri === undefined) {
        throw new MlDeployError('INVALID_PARAMETER_VALUE', 'Changing the flavor requires a model URI', { target: 'local', hint: 'Pass -m along with -f.' });
      }
      const settings = parseDeploymentSettings(change.config, current.config);
      const candidate =
        change.modelUri === undefined
          ? { record: { deployment: current.deployment, modelUri: current.modelUri, modelDir: current.modelDir, modelVersion: current.modelVersion, flavor: current.flavor, config: settings, reason: 'update' } }
          : await this.prepareRevision(name, change.modelUri, change.flavor, settings, 'update');
      await this.switchTo(candidate.record, 'update');
      return this.describe(name);
    });
  }

  async rollback(name: string, toRevision?: number): Promise<Record<string, unknown>> {
    return this.exclusive(name, async () => {
      const current = this.currentRevision(name);
      const target = toRevision ?? this.store.revisions(name).filter((r) => r.revision < current.revision).at(-1)?.revision;
      const old = target === undefined ? undefined : this.store.revision(name, target);
      if (old === undefined) {
        throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', target === undefined ? `Deployment "${name}" has no earlier revision to roll back to` : `Deployment "${name}" has no revision ${target}`, {
          target: 'local',
          hint: `See its revisions with 'mldeploy history -t local --name ${name}'.`,
        });
      }
      const { revision: _number, createdAt: _at, ...content } = old;
      await this.switchTo({ ...content, reason: `rollback to ${old.revision}` }, 'rollback');
      return this.describe(name);
    });
  }

  async deleteDeployment(name: string): Promise<void> {
    await this.exclusive(name, async () => {
      const users = this.store.endpoints().filter((e) => e.config.traffic[name] !== undefined || e.config.shadow?.deployment === name).map((e) => e.name);
      if (users.length > 0) {
        throw new MlDeployError('RESOURCE_CONFLICT', `Deployment "${name}" receives traffic from endpoint(s) ${users.join(', ')}`, {
          target: 'local',
          hint: 'Move its traffic elsewhere with update-endpoint, or delete the endpoint, first.',
        });
      }
      const runtime = this.routes.get(name);
      this.routes.delete(name);
      this.store.deleteDeployment(name);
      this.failures.delete(name);
      await runtime?.stop();
    });
  }

  listDeployments(): Record<string, unknown>[] {
    return this.store.deployments().map((d) => this.describe(d.name));
  }

  getDeployment(name: string): Record<string, unknown> {
    if (this.store.deployment(name) === undefined) throw missing('Deployment', name);
    return this.describe(name);
  }

  history(name: string): Record<string, unknown>[] {
    const deployment = this.store.deployment(name);
    if (deployment === undefined) throw missing('Deployment', name);
    return this.store.revisions(name).map((r) => ({
      revision: r.revision,
      current: r.revision === deployment.revision,
      reason: r.reason,
      model_uri: r.modelUri,
      model_version: r.modelVersion,
      flavor: r.flavor,
      config: r.config,
      created_at: r.createdAt,
    }));
  }

  /** The last `lines` records of a deployment's log (JSON lines: time, revision, replica, event, message). */
  async logs(name: string, lines: number): Promise<LogRecord[]> {
    if (this.store.deployment(name) === undefined) throw missing('Deployment', name);
    const text = await readFile(this.logPath(name), 'utf8').catch(() => '');
    return text.split('\n').filter((l) => l !== '').slice(-lines).map((line) => parseLogLine(line, name));
  }

  createEndpoint(name: string, config: Readonly<Record<string, unknown>>): Record<string, unknown> {
    checkName('endpoint', name);
    if (this.store.endpoint(name) !== undefined) {
      throw new MlDeployError('RESOURCE_ALREADY_EXISTS', `Endpoint "${name}" already exists on the local target`, { target: 'local', hint: 'Change its traffic with update-endpoint.' });
    }
    return this.writeEndpoint(name, parseEndpointSettings(config), 'create-endpoint');
  }

  updateEndpoint(name: string, config: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const current = this.store.endpoint(name);
    if (current === undefined) throw missing('Endpoint', name);
    return this.writeEndpoint(name, parseEndpointSettings(config, current.config), 'update-endpoint');
  }

  deleteEndpoint(name: string): void {
    this.store.deleteEndpoint(name);
    this.endpointRoutes.delete(name);
    this.shadows.delete(name);
  }

  listEndpoints(): Record<string, unknown>[] {
    return this.store.endpoints().map((e) => this.describeEndpoint(e));
  }

  getEndpoint(name: string): Record<string, unknown> {
    const endpoint = this.store.endpoint(name);
    if (endpoint === undefined) throw missing('Endpoint', name);
    return this.describeEndpoint(endpoint);
  }

  /** Stops every worker (the state stays for the next start). */
  async shutdown(): Promise<void> {
    const runtimes = [...this.routes.values()];
    this.routes.clear();
    await Promise.all(runtimes.map((r) => r.stop()));
    for (const stream of this.logStreams.values()) stream.end();
    this.store.close();
  }

  private writeEndpoint(name: string, config: ReturnType<typeof parseEndpointSettings>, action: string): Record<string, unknown> {
    const named = [...Object.keys(config.traffic), ...(config.shadow === null ? [] : [config.shadow.deployment])];
    const unknown = named.filter((d) => this.store.deployment(d) === undefined);
    if (unknown.length > 0) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', `The endpoint names deployments that do not exist: ${unknown.join(', ')}`, {
        target: 'local',
        hint: "Create them first, or see what exists with 'mldeploy list -t local'.",
      });
    }
    if (config.shadow !== null && config.traffic[config.shadow.deployment] !== undefined) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', `Deployment "${config.shadow.deployment}" cannot be both in the traffic split and the shadow`, { target: 'local' });
    }
    const record = this.store.putEndpoint(name, config, action);
    this.endpointRoutes.set(name, config);
    const previous = this.shadows.get(name);
    if (config.shadow === null) this.shadows.delete(name);
    else if (previous?.deployment !== config.shadow.deployment) this.shadows.set(name, new ShadowStats(config.shadow.deployment));
    return this.describeEndpoint(record);
  }

  private describeEndpoint(endpoint: EndpointRecord): Record<string, unknown> {
    return {
      name: endpoint.name,
      traffic: endpoint.config.traffic,
      sticky_header: endpoint.config.stickyHeader,
      shadow: endpoint.config.shadow,
      ...(endpoint.config.shadow === null ? {} : { shadow_comparison: this.shadows.get(endpoint.name)?.summary() ?? null }),
      url: `${this.gatewayUrl}/endpoints/${endpoint.name}/invocations`,
      created_at: endpoint.createdAt,
      updated_at: endpoint.updatedAt,
    };
  }

  private describe(name: string): Record<string, unknown> {
    const deployment = this.store.deployment(name)!;
    const revision = this.store.revision(name, deployment.revision)!;
    const runtime = this.routes.get(name);
    const settings = parseDeploymentSettings(revision.config);
    const live = runtime?.revision.revision === revision.revision ? runtime.live.length : 0;
    const state = this.failures.has(name) ? 'failed' : live === settings.replicas ? 'ready' : live > 0 ? 'degraded' : 'unavailable';
    return {
      name,
      flavor: revision.flavor,
      model_uri: revision.modelUri,
      model_version: revision.modelVersion,
      revision: revision.revision,
      state,
      ...(this.failures.has(name) ? { error: this.failures.get(name) } : {}),
      url: `${this.gatewayUrl}/deployments/${name}/invocations`,
      replicas: settings.replicas,
      live_replicas: live,
      restarts: runtime?.restartCount ?? 0,
      workers: (runtime?.live ?? []).map((w) => ({ pid: w.pid, port: w.port })),
      config: settings,
      created_at: deployment.createdAt,
      updated_at: deployment.updatedAt,
    };
  }

  private currentRevision(name: string): RevisionRecord {
    const deployment = this.store.deployment(name);
    if (deployment === undefined) throw missing('Deployment', name);
    return this.store.revision(name, deployment.revision)!;
  }

  /** Resolves the model and checks it can be served, before anything starts. */
  private async prepareRevision(name: string, modelUri: string, flavor: string | undefined, settings: Readonly<Record<string, unknown>>, reason: string): Promise<{ record: Omit<RevisionRecord, 'revision' | 'createdAt'> }> {
    const resolved = await resolveModel(modelUri, { connection: mlflowConnectionFromEnv(this.options.env), cacheDir: this.options.cacheDir, cwd: this.options.home });
    const model = await readMlModel(resolved.dir);
    return {
      record: { deployment: name, modelUri, modelDir: resolved.dir, modelVersion: resolved.registered?.version ?? null, flavor: chooseFlavor(model, flavor), config: settings, reason },
    };
  }

  /**
   * The zero-downtime switch: the new revision's workers start beside the old ones; once all
   * serve, the revision is recorded and traffic moves to it in one assignment; the old workers
   * finish the requests they hold, then stop. If the new revision fails, the old keeps serving.
   */
  private async switchTo(candidate: Omit<RevisionRecord, 'revision' | 'createdAt'>, action: string): Promise<void> {
    const name = candidate.deployment;
    const settings = parseDeploymentSettings(candidate.config);
    const planned = { ...candidate, revision: this.store.nextRevision(name) };
    const runtime = new RevisionRuntime({ ...planned, createdAt: new Date().toISOString() }, settings.replicas, this.launcher);
    const old = this.routes.get(name);
    try {
      await runtime.start();
    } catch (error) {
      const cause = toMlDeployError(error);
      const outcome = old === undefined ? 'nothing was created' : 'so the current one keeps serving';
      throw new MlDeployError(cause.code, `Revision ${planned.revision} of "${name}" did not become ready, ${outcome}: ${cause.message}`, { target: 'local', cause: error, hint: cause.hint ?? `See 'mldeploy logs -t local --name ${name}'.` });
    }
    const record = this.store.commitRevision(planned, action);
    this.routes.set(name, runtime);
    this.failures.delete(name);
    this.options.log(`${action}: ${name} now serves revision ${record.revision}`);
    await old?.stop();
  }

  private async startRevision(revision: RevisionRecord): Promise<void> {
    const settings = parseDeploymentSettings(revision.config);
    const runtime = new RevisionRuntime(revision, settings.replicas, this.launcher);
    await runtime.start();
    const old = this.routes.get(revision.deployment);
    this.routes.set(revision.deployment, runtime);
    await old?.stop();
  }

  private exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.locks.set(name, next);
    void next.finally(() => {
      if (this.locks.get(name) === next) this.locks.delete(name);
    }).catch(() => undefined);
    return next;
  }

  private logPath(name: string): string {
    return path.join(this.options.home, 'logs', `${name}.log`);
  }

  private logStream(name: string): WriteStream {
    let stream = this.logStreams.get(name);
    if (stream === undefined) {
      stream = createWriteStream(this.logPath(name), { flags: 'a' });
      this.logStreams.set(name, stream);
    }
    return stream;
  }

  /** Creates the home's folders. */
  static async prepareHome(home: string): Promise<void> {
    await mkdir(path.join(home, 'logs'), { recursive: true, mode: 0o700 });
  }
}
