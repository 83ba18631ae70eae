import {
  BaseDeploymentClient,
  MlDeployError,
  PredictionsResponse,
  encodeScoringRequest,
  errorFromBody,
  parseBodyText,
  resolveModelLocation,
  type CreateDeploymentOptions,
  type DeleteDeploymentOptions,
  type Deployment,
  type EndpointOption,
  type PredictionInput,
  type TargetContext,
  type UpdateDeploymentOptions,
} from '@mldeploy/core';
import type { V1Deployment } from '@kubernetes/client-node';
import { parseKubernetesConfig, type KubernetesConfig } from '../config/kubernetes-config.js';
import type { InferenceService } from '../manifests/inference-service.js';
import { KubeApi } from '../kube/kube-api.js';
import { loadKubeConnection } from '../kube/load-kube-config.js';
import { checkKubernetesName, readRecordedConfig, ANNOTATIONS } from '../manifests/labels.js';
import { modelSourceFor, refuseCredentials } from '../manifests/model-source.js';
import type { ServingPlan } from '../manifests/serving-deployment.js';
import { DeploymentMode } from '../modes/deployment-mode.js';
import { KServeMode } from '../modes/kserve-mode.js';
import { parseKubernetesUri, type KubernetesLocation } from './kubernetes-uri.js';

const TARGET = 'kubernetes';

/** What a deployment name stands for in the cluster: a Deployment (deployment mode) or an InferenceService. */
type Current =
  { readonly mode: 'deployment'; readonly object: V1Deployment } | { readonly mode: 'kserve'; readonly object: InferenceService };

/**
 * Client of the `kubernetes` target: deployments are KServe InferenceServices (`-C mode=kserve`) or
 * Deployments + Services running mldeploy's serving runtime (`mode=deployment`, the default, which
 * needs nothing but Kubernetes). All state lives in the cluster: `get` and `list` read it live.
 */
export class KubernetesDeploymentClient extends BaseDeploymentClient {
  private readonly location: KubernetesLocation;
  private connected: { api: KubeApi; deployments: DeploymentMode; kserve: KServeMode } | undefined;

  /** No I/O: the kubeconfig is read on the first call. */
  constructor(
    targetUri: string,
    private readonly context: TargetContext,
  ) {
    super(targetUri);
    this.location = parseKubernetesUri(targetUri);
  }

  private connect(): { api: KubeApi; deployments: DeploymentMode; kserve: KServeMode } {
    if (this.connected === undefined) {
      const api = new KubeApi(loadKubeConnection(this.location, this.context));
      this.connected = { api, deployments: new DeploymentMode(api), kserve: new KServeMode(api) };
    }
    return this.connected;
  }

  /** What to deploy: a registry model resolved to where its files are, when the registry says (see resolveModelLocation). */
  private async plan(name: string, modelUri: string, flavor: string | undefined, rawConfig: Record<string, unknown>): Promise<ServingPlan> {
    const config = parseKubernetesConfig(rawConfig);
    if (config.mode === 'kserve' && config.registry_secret !== undefined) {
      throw new MlDeployError(
        'INVALID_PARAMETER_VALUE',
        'registry_secret applies to mode=deployment: KServe reads storage with the credentials of its service account',
        {
          target: TARGET,
          hint: "Give the predictor a service account with the storage credentials: -C service_account=<name> (see KServe's storage docs).",
        },
      );
    }
    refuseCredentials(modelUri);
    const { location, registered } = await resolveModelLocation(modelUri, this.context.env, TARGET);
    refuseCredentials(location);
    const source = modelSourceFor(location);
    return {
      name,
      namespace: this.connect().api.namespace,
      modelUri,
      modelVersion: registered?.version,
      // Files the cluster cannot read by itself are downloaded in the pod from the URI as given (the registry's credentials apply).
      source: source.kind === 'download' ? modelSourceFor(modelUri) : source,
      flavor,
      config,
      rawConfig,
    };
  }

  override async createDeployment(name: string, modelUri: string, options: CreateDeploymentOptions = {}): Promise<Deployment> {
    checkKubernetesName(name);
    const rawConfig = { ...(options.config ?? {}) };
    const config = parseKubernetesConfig(rawConfig);
    noCanaryOnCreate(config);
    const { deployments, kserve } = this.connect();
    if ((await deployments.find(name)) !== undefined || (await kserve.find(name)) !== undefined) throw exists(name);
    const plan = await this.plan(name, modelUri, options.flavor, rawConfig);
    this.context.log(`Creating ${name} (${config.mode}) in namespace ${plan.namespace}…`);
    return config.mode === 'kserve' ? kserve.create(plan, this.context.log) : deployments.create(plan, this.context.log);
  }

  override async updateDeployment(name: string, options: UpdateDeploymentOptions = {}): Promise<Deployment> {
    const { deployments, kserve } = this.connect();
    const current = await this.current(name);
    const annotations = current.object.metadata?.annotations ?? {};
    // The keys given replace those of the running revision; the others are kept.
    const rawConfig = { ...readRecordedConfig(annotations[ANNOTATIONS.config]), ...(options.config ?? {}) };
    if (options.config?.['canary_traffic_percent'] === undefined) delete rawConfig['canary_traffic_percent'];
    const modelUri = options.modelUri ?? annotations[ANNOTATIONS.modelUri];
    if (modelUri === undefined)
      throw new MlDeployError('INVALID_STATE', `Deployment "${name}" records no model URI; pass -m`, { target: TARGET });
    const plan = await this.plan(name, modelUri, options.flavor ?? annotations[ANNOTATIONS.flavor], rawConfig);
    if (plan.config.mode !== current.mode) {
      throw new MlDeployError(
        'INVALID_PARAMETER_VALUE',
        `Deployment "${name}" runs in ${current.mode} mode; an update cannot change the mode`,
        {
          target: TARGET,
          hint: 'Delete it and create it again in the other mode.',
        },
      );
    }
    if (current.mode === 'deployment') noCanaryOnCreate(plan.config);
    this.context.log(`Updating ${name}…`);
    return current.mode === 'kserve'
      ? kserve.update(plan, current.object, this.context.log)
      : deployments.update(plan, current.object, this.context.log);
  }

  override async deleteDeployment(name: string, _options?: DeleteDeploymentOptions): Promise<void> {
    const { deployments, kserve } = this.connect();
    await deployments.delete(name);
    await kserve.delete(name);
  }

  override async listDeployments(_options?: EndpointOption): Promise<Deployment[]> {
    const { deployments, kserve } = this.connect();
    const all = [...(await deployments.list()), ...(await kserve.list())];
    return all.sort((a, b) => a.name.localeCompare(b.name));
  }

  override async getDeployment(name: string, _options?: EndpointOption): Promise<Deployment> {
    const current = await this.current(name);
    const { deployments, kserve } = this.connect();
    return current.mode === 'kserve' ? kserve.view(current.object) : deployments.view(current.object);
  }

  override async predict(
    deploymentName: string | undefined,
    inputs: PredictionInput,
    options: EndpointOption = {},
  ): Promise<PredictionsResponse> {
    if (options.endpoint !== undefined) throw this.notImplemented('predict with --endpoint');
    if (deploymentName === undefined)
      throw new MlDeployError('INVALID_PARAMETER_VALUE', 'predict needs a deployment name', { target: TARGET });
    const current = await this.current(deploymentName);
    const { api } = this.connect();
    const request = encodeScoringRequest(inputs);
    const config = parseKubernetesConfig(readRecordedConfig(current.object.metadata?.annotations?.[ANNOTATIONS.config]));
    let answer: { status: number; body: string };
    if (current.mode === 'deployment' || config.predict_via === 'proxy') {
      // Through the API server's service proxy: works from anywhere the kubeconfig reaches the cluster.
      const headers: Record<string, string> = { 'content-type': request.contentType };
      // The API server uses Authorization itself and drops it; the pods' token travels in X-MLDeploy-Token.
      if (current.mode === 'deployment') headers['x-mldeploy-token'] = await this.connect().deployments.token(current.object);
      const service = current.mode === 'deployment' ? deploymentName : `${deploymentName}-predictor`;
      answer = await api.proxyPost(service, 'http', '/invocations', request.body, headers);
    } else {
      const url = current.mode === 'kserve' ? current.object.status?.url : undefined;
      if (url === undefined)
        throw new MlDeployError('TEMPORARILY_UNAVAILABLE', `InferenceService "${deploymentName}" has no URL yet`, { target: TARGET });
      const response = await fetch(`${url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': request.contentType },
        body: request.body,
      }).catch((error: unknown) => {
        throw new MlDeployError('TEMPORARILY_UNAVAILABLE', `Cannot reach ${url}: ${(error as Error).message}`, {
          target: TARGET,
          cause: error,
          hint: 'The URL KServe reports must be reachable from here (an ingress or gateway); else use -C predict_via=proxy.',
        });
      });
      answer = { status: response.status, body: await response.text() };
    }
    if (answer.status >= 400) throw errorFromBody(answer.status, parseBodyText(answer.body), { target: TARGET });
    return PredictionsResponse.fromJSON(answer.body);
  }

  /** Endpoints split traffic between deployments: Kubernetes has no object for that short of a service mesh. */
  protected override notImplemented(method: string): MlDeployError {
    if (!/endpoint/i.test(method)) return super.notImplemented(method);
    return new MlDeployError(
      'NOT_IMPLEMENTED',
      `The kubernetes target has no endpoints (${method}): Kubernetes has no object that splits traffic between deployments`,
      {
        target: TARGET,
        hint: 'In kserve mode, split traffic between revisions of one deployment with -C canary_traffic_percent=N on update.',
      },
    );
  }

  override async listRevisions(name: string): Promise<Record<string, unknown>[]> {
    const current = await this.current(name);
    const { deployments, kserve } = this.connect();
    return current.mode === 'kserve' ? kserve.revisions(current.object) : deployments.revisions(name);
  }

  override async rollbackDeployment(name: string, toRevision?: number): Promise<Deployment> {
    const current = await this.current(name);
    const { deployments, kserve } = this.connect();
    if (current.mode === 'deployment') return deployments.rollback(current.object, toRevision, this.context.log);
    const { timeout } = parseKubernetesConfig(readRecordedConfig(current.object.metadata.annotations?.[ANNOTATIONS.config]));
    return kserve.rollback(current.object, toRevision, timeout, this.context.log);
  }

  /** The object a deployment name stands for, and its mode. */
  private async current(name: string): Promise<Current> {
    const { deployments, kserve } = this.connect();
    const deployment = await deployments.find(name);
    if (deployment !== undefined) return { mode: 'deployment', object: deployment };
    const service = await kserve.find(name);
    if (service !== undefined) return { mode: 'kserve', object: service };
    throw new MlDeployError(
      'RESOURCE_DOES_NOT_EXIST',
      `Deployment "${name}" does not exist in namespace "${this.connect().api.namespace}"`,
      {
        target: TARGET,
        hint: `See what exists with 'mldeploy list -t ${this.targetUri}'.`,
      },
    );
  }
}

function exists(name: string): MlDeployError {
  return new MlDeployError('RESOURCE_ALREADY_EXISTS', `Deployment "${name}" already exists`, {
    target: TARGET,
    hint: "Change it with 'mldeploy update', or delete it first.",
  });
}

function noCanaryOnCreate(config: KubernetesConfig): void {
  if (config.canary_traffic_percent === undefined) return;
  throw new MlDeployError(
    'INVALID_PARAMETER_VALUE',
    config.mode === 'kserve'
      ? 'canary_traffic_percent applies to an update (KServe splits traffic between the last rolled-out revision and the new one)'
      : 'canary_traffic_percent needs mode=kserve: a Deployment rolls out all replicas',
    { target: TARGET },
  );
}
