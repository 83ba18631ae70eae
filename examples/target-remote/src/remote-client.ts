import { randomInt } from 'node:crypto';
import path from 'node:path';
import {
  BaseDeploymentClient,
  MlDeployError,
  checkResourceName,
  homeFromTargetUri,
  pickByWeight,
  type CreateDeploymentOptions,
  type DeleteDeploymentOptions,
  type Deployment,
  type DeploymentConfig,
  type Endpoint,
  type PredictionInput,
  type PredictionsResponse,
  type TargetContext,
  type UpdateDeploymentOptions,
} from '@mldeploy/core';
import { TARGET, parseDeploymentConfig, parseEndpointConfig, parseServerUrl } from './remote-config.js';
import { invoke, ping, probe } from './scoring-server.js';
import { StateFile, type DeploymentRecord, type EndpointRecord, type State } from './state-file.js';

const DEFAULT_FLAVOR = 'python_function';

function missing(kind: 'Deployment' | 'Endpoint', name: string): MlDeployError {
  const list = kind === 'Deployment' ? 'list' : 'list-endpoints';
  return new MlDeployError('RESOURCE_DOES_NOT_EXIST', `${kind} "${name}" does not exist on the remote target`, {
    target: TARGET,
    hint: `See what exists with 'mldeploy ${list} -t remote'.`,
  });
}

function toDeployment(record: DeploymentRecord): Deployment {
  return {
    name: record.name,
    flavor: record.flavor,
    model_uri: record.url,
    url: `${record.url}/invocations`,
    config: record.config,
    created_at: record.created_at,
    updated_at: record.updated_at,
  };
}

/**
 * Client of the `remote` target: it manages model servers that already run elsewhere and speak
 * MLflow's scoring protocol (`mlflow models serve`, MLServer, an mldeploy gateway…). A
 * deployment is a named server URL; predictions are forwarded to its `/invocations`; endpoints
 * split traffic between deployments by weight.
 */
export class RemoteDeploymentClient extends BaseDeploymentClient {
  private readonly state: StateFile;

  constructor(targetUri: string, context: TargetContext) {
    super(targetUri);
    this.state = new StateFile(homeFromTargetUri(targetUri, path.join(context.homeDir, '.mldeploy', 'remote')));
  }

  override async createDeployment(name: string, modelUri: string, options: CreateDeploymentOptions = {}): Promise<Deployment> {
    checkResourceName('deployment', name, TARGET);
    const url = parseServerUrl(modelUri);
    const config = parseDeploymentConfig(options.config);
    if ((await this.state.read()).deployments[name] !== undefined) throw this.exists(name);
    await ping(url, config.ping_timeout);
    const now = new Date().toISOString();
    const record: DeploymentRecord = { name, flavor: options.flavor ?? DEFAULT_FLAVOR, url, config, created_at: now, updated_at: now };
    await this.state.update((state) => {
      if (state.deployments[name] !== undefined) throw this.exists(name);
      return { state: { ...state, deployments: { ...state.deployments, [name]: record } }, result: undefined };
    });
    return toDeployment(record);
  }

  override async updateDeployment(name: string, options: UpdateDeploymentOptions = {}): Promise<Deployment> {
    const current = await this.record(name);
    if (options.flavor !== undefined && options.modelUri === undefined) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', 'Changing the flavor requires a model URI', {
        target: TARGET,
        hint: 'Pass -m along with -f.',
      });
    }
    const url = options.modelUri === undefined ? current.url : parseServerUrl(options.modelUri);
    const config = parseDeploymentConfig(options.config, current.config);
    await ping(url, config.ping_timeout);
    return this.state.update((state) => {
      const latest = state.deployments[name];
      if (latest === undefined) throw missing('Deployment', name);
      const record: DeploymentRecord = {
        ...latest,
        url,
        config,
        flavor: options.flavor ?? latest.flavor,
        updated_at: new Date().toISOString(),
      };
      return { state: { ...state, deployments: { ...state.deployments, [name]: record } }, result: toDeployment(record) };
    });
  }

  override async deleteDeployment(name: string, _options?: DeleteDeploymentOptions): Promise<void> {
    await this.state.update((state) => {
      if (state.deployments[name] === undefined) return { state, result: undefined };
      const users = Object.values(state.endpoints)
        .filter((e) => e.traffic[name] !== undefined)
        .map((e) => e.name);
      if (users.length > 0) {
        throw new MlDeployError('RESOURCE_CONFLICT', `Deployment "${name}" receives traffic from endpoint(s) ${users.join(', ')}`, {
          target: TARGET,
          hint: 'Move its traffic elsewhere with update-endpoint, or delete the endpoint, first.',
        });
      }
      const { [name]: _removed, ...rest } = state.deployments;
      return { state: { ...state, deployments: rest }, result: undefined };
    });
  }

  override async listDeployments(): Promise<Deployment[]> {
    const { deployments } = await this.state.read();
    return Object.values(deployments)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(toDeployment);
  }

  override async getDeployment(name: string): Promise<Deployment> {
    const record = await this.record(name);
    const { alive, version } = await probe(record.url, record.config.ping_timeout);
    return {
      ...toDeployment(record),
      state: alive ? 'alive' : 'unreachable',
      ...(version === undefined ? {} : { server_version: version }),
    };
  }

  override async predict(
    deploymentName: string | undefined,
    inputs: PredictionInput,
    options: { endpoint?: string | undefined } = {},
  ): Promise<PredictionsResponse> {
    const state = await this.state.read();
    const name =
      options.endpoint === undefined ? deploymentName : pickByWeight(this.endpointIn(state, options.endpoint).traffic, randomInt(100));
    if (name === undefined) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', 'predict needs a deployment name or an endpoint', { target: TARGET });
    }
    const record = state.deployments[name];
    if (record === undefined) throw missing('Deployment', name);
    return invoke(record.url, inputs, record.config.timeout);
  }

  override async createEndpoint(name: string, config?: DeploymentConfig): Promise<Endpoint> {
    checkResourceName('endpoint', name, TARGET);
    const { traffic } = parseEndpointConfig(config);
    return this.state.update((state) => {
      if (state.endpoints[name] !== undefined) {
        throw new MlDeployError('RESOURCE_ALREADY_EXISTS', `Endpoint "${name}" already exists on the remote target`, {
          target: TARGET,
          hint: 'Change its traffic with update-endpoint.',
        });
      }
      this.checkRoutes(state, traffic);
      const now = new Date().toISOString();
      const record: EndpointRecord = { name, traffic, created_at: now, updated_at: now };
      return { state: { ...state, endpoints: { ...state.endpoints, [name]: record } }, result: { ...record } };
    });
  }

  override async updateEndpoint(endpoint: string, config?: DeploymentConfig): Promise<Endpoint> {
    const { traffic } = parseEndpointConfig(config);
    return this.state.update((state) => {
      const current = this.endpointIn(state, endpoint);
      this.checkRoutes(state, traffic);
      const record: EndpointRecord = { ...current, traffic, updated_at: new Date().toISOString() };
      return { state: { ...state, endpoints: { ...state.endpoints, [endpoint]: record } }, result: { ...record } };
    });
  }

  override async deleteEndpoint(endpoint: string): Promise<void> {
    await this.state.update((state) => {
      const { [endpoint]: _removed, ...rest } = state.endpoints;
      return { state: { ...state, endpoints: rest }, result: undefined };
    });
  }

  override async listEndpoints(): Promise<Endpoint[]> {
    const { endpoints } = await this.state.read();
    return Object.values(endpoints)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((e) => ({ ...e }));
  }

  override async getEndpoint(endpoint: string): Promise<Endpoint> {
    return { ...this.endpointIn(await this.state.read(), endpoint) };
  }

  private async record(name: string): Promise<DeploymentRecord> {
    const record = (await this.state.read()).deployments[name];
    if (record === undefined) throw missing('Deployment', name);
    return record;
  }

  private endpointIn(state: State, endpoint: string): EndpointRecord {
    const record = state.endpoints[endpoint];
    if (record === undefined) throw missing('Endpoint', endpoint);
    return record;
  }

  private checkRoutes(state: State, traffic: Readonly<Record<string, number>>): void {
    const unknown = Object.keys(traffic).filter((d) => state.deployments[d] === undefined);
    if (unknown.length > 0) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', `The traffic split names deployments that do not exist: ${unknown.join(', ')}`, {
        target: TARGET,
        hint: "Create them first, or see what exists with 'mldeploy list -t remote'.",
      });
    }
  }

  private exists(name: string): MlDeployError {
    return new MlDeployError('RESOURCE_ALREADY_EXISTS', `Deployment "${name}" already exists on the remote target`, {
      target: TARGET,
      hint: `Change it with 'mldeploy update -t remote --name ${name}', or pick another name.`,
    });
  }
}
