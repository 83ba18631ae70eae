import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  BaseDeploymentClient,
  checkResourceName,
  homeFromTargetUri,
  encodeScoringRequest,
  httpRequest,
  MlDeployError,
  PredictionsResponse,
  type AuditRecord,
  type AuditVerification,
  type CreateDeploymentOptions,
  type DeleteDeploymentOptions,
  type Deployment,
  type DeploymentConfig,
  type Endpoint,
  type EndpointOption,
  type PredictionInput,
  type TargetContext,
  type Rollout,
  type RolloutAction,
  type RolloutRequest,
  type UpdateDeploymentOptions,
} from '@mldeploy/core';
import { mlflowConnectionFromEnv, parseModelUri, resolveModel } from '@mldeploy/serving';
import type { RemoteTargetFeed } from '../server/api-schema.js';
import { parseDeploymentSettings } from '../server/local-config.js';
import { ControlPlaneApi } from './control-plane-api.js';
import { ensureServer } from './server-launcher.js';

/** Creates, updates and deletes wait for workers to start or drain. */
const LONG_MS = 30 * 60_000;

/** A model as the API takes it: the URI the user gave and the local folder it resolved to. */
interface ResolvedModelFields {
  readonly model_uri: string;
  readonly model_path: string;
  readonly model_version: string | undefined;
}

/**
 * Client of the built-in `local` target: it talks to the control plane of its home over the
 * REST API (starting it on first use), and sends predictions through its gateway. Model URIs
 * are resolved and downloaded here, in the caller's environment and with the caller's
 * credentials; the control plane only ever gets a local folder.
 */
export class LocalDeploymentClient extends BaseDeploymentClient {
  readonly home: string;
  private server: Promise<string> | undefined;
  private readonly api: ControlPlaneApi;

  constructor(
    targetUri: string,
    private readonly context: TargetContext,
  ) {
    super(targetUri);
    // `local` is ~/.mldeploy; `local:/ABS/DIR` names another home.
    this.home = homeFromTargetUri(targetUri, path.join(context.homeDir, '.mldeploy'));
    this.api = new ControlPlaneApi(() => this.url(), this.home, context.user);
  }

  override async createDeployment(name: string, modelUri: string, options: CreateDeploymentOptions = {}): Promise<Deployment> {
    // Before a download: a name the control plane will refuse should not cost one.
    checkResourceName('deployment', name, 'local');
    // The control plane checks the config again; checking it here reports a mistake before a
    // download and before the progress line, which would say that something had started.
    parseDeploymentSettings(options.config);
    const model = await this.resolve(modelUri);
    this.context.log(`Creating deployment ${name} from ${modelUri}: waiting for its warm-up prediction…`);
    return this.api.call(
      'createDeployment',
      { body: { name, ...model, flavor: options.flavor, config: this.withCallersMlflow(options.config) } },
      LONG_MS,
    );
  }

  override async updateDeployment(name: string, options: UpdateDeploymentOptions = {}): Promise<Deployment> {
    // Each key is checked alone, so the keys given are checked without the current ones (see createDeployment).
    parseDeploymentSettings(options.config);
    const model = options.modelUri === undefined ? {} : await this.resolve(options.modelUri);
    this.context.log(`Updating deployment ${name}: the new revision starts beside the current one…`);
    return this.api.call(
      'updateDeployment',
      { params: { name }, body: { ...model, flavor: options.flavor, config: this.withCallersMlflow(options.config) } },
      LONG_MS,
    );
  }

  /**
   * The config with the caller's `MLDEPLOY_MLFLOW` as `mlflow_command` (unless it names one): like
   * the model, the MLflow a revision runs under is the caller's, not the control plane's.
   */
  private withCallersMlflow(config: DeploymentConfig | undefined): DeploymentConfig | undefined {
    const mlflow = this.context.env['MLDEPLOY_MLFLOW'];
    if (mlflow === undefined || mlflow === '' || config?.['mlflow_command'] !== undefined) return config;
    return { ...config, mlflow_command: mlflow };
  }

  override async deleteDeployment(name: string, _options?: DeleteDeploymentOptions): Promise<void> {
    try {
      await this.api.call('deleteDeployment', { params: { name } }, LONG_MS);
    } catch (error) {
      if ((error as { code?: string }).code !== 'RESOURCE_DOES_NOT_EXIST') throw error;
    }
  }

  override async listDeployments(_options?: EndpointOption): Promise<Deployment[]> {
    return (await this.api.call('listDeployments', {})).deployments;
  }

  override async getDeployment(name: string): Promise<Deployment> {
    return this.api.call('getDeployment', { params: { name } });
  }

  override async predict(
    deploymentName: string | undefined,
    inputs: PredictionInput,
    options: EndpointOption = {},
  ): Promise<PredictionsResponse> {
    const { contentType, body } = encodeScoringRequest(inputs);
    const path =
      options.endpoint === undefined
        ? `/deployments/${encodeURIComponent(deploymentName ?? '')}/invocations`
        : `/endpoints/${encodeURIComponent(options.endpoint)}/invocations`;
    const response = await httpRequest(`${await this.url()}${path}`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
      timeoutMs: LONG_MS,
      target: 'local',
    });
    return PredictionsResponse.fromJSON(response.text);
  }

  /** Not supported; the error says why, as the target's help does (its `explain` section). */
  override explain(): Promise<unknown> {
    return Promise.reject(
      new MlDeployError(
        'NOT_IMPLEMENTED',
        'The "local" target does not implement explain: its deployments serve MLflow\'s scoring protocol and the Open Inference Protocol, which answer predictions only.',
        {
          target: 'local',
          hint: "Use 'mldeploy predict'; 'mldeploy help -t local' says what the local target supports (see its explain section).",
        },
      ),
    );
  }

  override async createEndpoint(name: string, config?: DeploymentConfig): Promise<Endpoint> {
    return this.api.call('createEndpoint', { body: { name, config } });
  }

  override async updateEndpoint(endpoint: string, config?: DeploymentConfig): Promise<Endpoint> {
    return this.api.call('updateEndpoint', { params: { name: endpoint }, body: { config } });
  }

  override async deleteEndpoint(endpoint: string): Promise<void> {
    await this.api.call('deleteEndpoint', { params: { name: endpoint } });
  }

  override async listEndpoints(): Promise<Endpoint[]> {
    return (await this.api.call('listEndpoints', {})).endpoints;
  }

  override async getEndpoint(endpoint: string): Promise<Endpoint> {
    return this.api.call('getEndpoint', { params: { name: endpoint } });
  }

  override async startRollout(request: RolloutRequest): Promise<Rollout> {
    return this.api.call('startRollout', { body: { endpoint: request.endpoint, to: request.to, policy: request.policy } });
  }

  override async getRollout(id: string): Promise<Rollout> {
    return this.api.call('getRollout', { params: { id } });
  }

  override async listRollouts(endpoint?: string): Promise<Rollout[]> {
    return (await this.api.call('listRollouts', { query: endpoint === undefined ? {} : { endpoint } })).rollouts;
  }

  override async controlRollout(id: string, action: RolloutAction): Promise<Rollout> {
    return this.api.call('controlRollout', { params: { id, action } });
  }

  override async listRevisions(name: string): Promise<Record<string, unknown>[]> {
    return (await this.api.call('listRevisions', { params: { name } })).revisions;
  }

  override async rollbackDeployment(name: string, toRevision?: number): Promise<Deployment> {
    return this.api.call('rollback', { params: { name }, body: toRevision === undefined ? {} : { to_revision: toRevision } }, LONG_MS);
  }

  override async getLogs(name: string, tail = 100): Promise<Record<string, unknown>[]> {
    return (await this.api.call('logs', { params: { name }, query: { tail: String(tail) } })).entries;
  }

  /** The last `limit` entries of the control plane's audit log, oldest first; of one deployment or endpoint when given. */
  async auditLog(subject?: string, limit = 100): Promise<AuditRecord[]> {
    return (await this.api.call('audit', { query: { subject, limit: String(limit) } })).entries;
  }

  /** Up to `limit` audit entries after id `after`, oldest first: the whole log, page by page (`mldeploy audit export`). */
  async auditEntries(after = 0, limit = 1000): Promise<AuditRecord[]> {
    return (await this.api.call('auditExport', { query: { after: String(after), limit: String(limit) } })).entries;
  }

  /** The control plane's check of its audit log's hash chain (`mldeploy audit verify`). */
  async verifyAudit(): Promise<AuditVerification> {
    return this.api.call('auditVerify', {}, LONG_MS);
  }

  /**
   * A link that signs one browser in to this home's dashboard: it works once, within
   * `expiresAt` (see docs/dashboard.md). Starts the control plane if need be.
   */
  async dashboardLink(): Promise<{ readonly url: string; readonly expiresAt: string }> {
    const { url, expires_at } = await this.api.call('dashboardLogin', { body: {} });
    return { url, expiresAt: expires_at };
  }

  /** Hands the dashboard another target's deployments and endpoints to show (`mldeploy dashboard --show`). */
  async publishDashboardTarget(feed: RemoteTargetFeed): Promise<void> {
    await this.api.call('publishDashboardTarget', { body: feed });
  }

  /**
   * Resolves a model URI in the caller's environment (MLFLOW_TRACKING_URI, credentials, allowed
   * hosts) into the home's model cache, reporting the download's progress to the caller.
   */
  private async resolve(modelUri: string): Promise<ResolvedModelFields> {
    // The download may be the first thing to create the home: it must be the owner's alone, as the control plane makes it.
    await mkdir(this.home, { recursive: true, mode: 0o700 });
    const resolved = await resolveModel(modelUri, {
      connection: mlflowConnectionFromEnv(this.context.env),
      cacheDir: this.cacheDir(),
      cwd: this.context.cwd,
      onProgress: this.context.onDownloadProgress,
    });
    return { model_uri: this.absolute(modelUri), model_path: resolved.dir, model_version: resolved.registered?.version };
  }

  /** `MLDEPLOY_CACHE_DIR`, else the home's own cache, so that one folder holds a target. */
  private cacheDir(): string {
    const custom = this.context.env['MLDEPLOY_CACHE_DIR'];
    return custom === undefined || custom === '' ? path.join(this.home, 'cache', 'models') : path.resolve(this.context.cwd, custom);
  }

  /** Local model paths are relative to the caller, not to the control plane. */
  private absolute(modelUri: string): string {
    const parsed = parseModelUri(modelUri, this.context.cwd);
    return parsed.kind === 'local' && !modelUri.startsWith('file:') ? parsed.path : modelUri;
  }

  /** The control plane's base URL, started on first use. */
  url(): Promise<string> {
    this.server ??= ensureServer(this.home, this.context.env, this.context.log).catch((error: unknown) => {
      this.server = undefined;
      throw error;
    });
    return this.server;
  }
}
