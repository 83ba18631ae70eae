import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  UpdateEndpointCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
  paginateListEndpoints,
  type AsyncInferenceConfig,
  type DataCaptureConfig,
  type DescribeEndpointConfigOutput,
  type EndpointSummary,
  type DescribeEndpointOutput,
  type DescribeModelOutput,
  type ProductionVariant,
  type ProductionVariantServerlessConfig,
  type Tag,
  type VpcConfig,
} from '@aws-sdk/client-sagemaker';
import {
  BaseDeploymentClient,
  MlDeployError,
  checkTrafficSplit,
  type CreateDeploymentOptions,
  type DeleteDeploymentOptions,
  type Deployment,
  type DeploymentConfig,
  type Endpoint,
  type EndpointOption,
  type PredictionInput,
  type PredictionsResponse,
  type TargetContext,
  type UpdateDeploymentOptions,
} from '@mldeploy/core';
import { openAwsSession, type AwsSession } from '../aws/aws-session.js';
import { parseSageMakerConfig, type ConfigOperation, type SageMakerConfig } from '../config/sagemaker-config.js';
import { policyWaitSeconds, type PolicyWaits } from '../config/deployment-config.js';
import {
  MODEL_ENV,
  TAGS,
  checkChangeable,
  checkSageMakerName,
  deleteResources,
  describeConfig,
  describeEndpoint,
  endpointUses,
  findEndpoint,
  findModel,
  liveUsedBy,
  markUsedBy,
  modelsOf,
  resourceName,
  reusedModelData,
  tagsOf,
  variantsNow,
  waitForEndpoint,
} from '../endpoint/endpoint-resources.js';
import { deploymentView, endpointView } from '../endpoint/views.js';
import {
  containerModelData,
  deleteUploadedModelData,
  ensureBucket,
  locateModelData,
  prepareModelData,
  type ModelData,
} from '../model/model-data.js';
import { invokeEndpoint, invokeEndpointStream } from '../predict/invoke.js';
import { defaultExecutionRole, defaultImageUrl } from './defaults.js';
import { parseSageMakerUri, type SageMakerLocation } from './sagemaker-uri.js';

const TARGET = 'sagemaker';

/** A SageMaker tag list from MLflow's `tags` config (strings: checked by the config's parser) and mldeploy's own. */
function tagList(tags: Readonly<Record<string, unknown>> | undefined, own: Record<string, string>): Tag[] {
  const all = { ...Object.fromEntries(Object.entries(tags ?? {}).map(([k, v]) => [k, String(v)])), ...own };
  return Object.entries(all).map(([Key, Value]) => ({ Key, Value }));
}

/** Where a new model's files come from: a model URI to locate (and upload), or the running model's files. */
type ModelSource = { readonly modelUri: string } | { readonly reuse: ModelData; readonly recordedUri: string | undefined };

/**
 * Client of the `sagemaker` target: a deployment is a SageMaker endpoint, made and changed as
 * MLflow's SageMaker target does (a model and an endpoint config per change, polled until in
 * service, the replaced ones cleaned up unless `archive`), plus SageMaker's DeploymentConfig
 * (blue/green, canary, linear, auto-rollback) and endpoints as weighted production variants.
 * All state lives in SageMaker: `get` and `list` read it live.
 */
export class SageMakerDeploymentClient extends BaseDeploymentClient {
  private readonly location: SageMakerLocation;
  private readonly sessions = new Map<string, Promise<AwsSession>>();

  /** No I/O: AWS is reached on the first call. */
  constructor(
    targetUri: string,
    private readonly context: TargetContext,
  ) {
    super(targetUri);
    this.location = parseSageMakerUri(targetUri);
  }

  private config(raw: DeploymentConfig | undefined, operation: ConfigOperation): SageMakerConfig {
    return parseSageMakerConfig(raw ?? {}, this.location, operation);
  }

  /** The session of a region and role, opened once (an assumed role's credentials are fetched again before they expire). */
  private session(config?: SageMakerConfig): Promise<AwsSession> {
    const region = config?.region_name ?? this.config(undefined, 'delete').region_name;
    const role = config?.assume_role_arn ?? this.location.assumeRoleArn;
    const key = `${region} ${role ?? ''}`;
    let session = this.sessions.get(key);
    if (session === undefined) {
      session = openAwsSession(region, role, this.context.env);
      // A failed open (a role that cannot be assumed) is not kept: the next call tries again.
      session.catch(() => this.sessions.delete(key));
      this.sessions.set(key, session);
    }
    return session;
  }

  override async createDeployment(name: string, modelUri: string, options: CreateDeploymentOptions = {}): Promise<Deployment> {
    checkSageMakerName(name, 'deployment');
    const config = this.config(options.config, 'create');
    if (config.mode !== 'create') throw wrongMode(config.mode);
    const session = await this.session(config);
    if ((await findEndpoint(session, name)) !== undefined) {
      throw new MlDeployError('RESOURCE_ALREADY_EXISTS', `Deployment "${name}" already exists in ${session.region}`, {
        target: TARGET,
        hint: `Change it with 'mldeploy update --name ${name}', or pick another name.`,
      });
    }
    this.context.log(`Creating ${name} in ${session.region}…`);
    const made: { models: string[]; config?: string } = { models: [] };
    try {
      const model = await this.createModel(session, name, { modelUri }, options.flavor, config);
      made.models.push(model);
      const configName = await this.createConfig(session, name, [this.variant(config, model, 1, undefined)], config, {});
      made.config = configName;
      await session.call('sagemaker:CreateEndpoint', name, () =>
        session.sagemaker.send(
          new CreateEndpointCommand({
            EndpointName: name,
            EndpointConfigName: configName,
            Tags: tagList(config.tags, { [TAGS.appName]: name }),
            DeploymentConfig: config.deployment_config,
          }),
        ),
      );
    } catch (error) {
      // A CreateEndpoint whose answer was lost may have made the endpoint (its retry then fails):
      // it serves what was made, so that stays and the create goes on.
      if (!(await this.tookEffect(session, name, made.config))) {
        // Nothing is left behind by a create that failed before the endpoint existed.
        await deleteResources(session, made, () => undefined).catch(() => undefined);
        throw error;
      }
    }
    if (config.synchronous) await waitForEndpoint(session, name, { inService: made.config! }, config.timeout_seconds, this.context.log);
    return this.view(session, name);
  }

  override async updateDeployment(name: string, options: UpdateDeploymentOptions = {}): Promise<Deployment> {
    const parsed = this.config(options.config, 'update');
    if (!parsed.synchronous && !parsed.archive && parsed.mode === 'replace') throw mustArchive('an update that replaces the model');
    const session = await this.session(parsed);
    const endpoint = await describeEndpoint(session, name, 'Deployment');
    const tags = await tagsOf(session, endpoint.EndpointArn!);
    notAnEndpoint(name, tags, 'update');
    // Before anything is made: SageMaker takes one change at a time, and none of a failed endpoint.
    checkChangeable(endpoint, 'deployment');
    const old = await describeConfig(session, endpoint.EndpointConfigName!);
    const main = mainVariant(old, endpoint);
    const primary = await this.primaryModel(session, old, endpoint);
    const config = keepUnnamed(parsed, options.config ?? {}, primary, main, endpoint);
    const source = this.updateSource(name, options.modelUri, primary, config);
    const flavor = options.flavor ?? primary?.PrimaryContainer?.Environment?.[MODEL_ENV.flavor];
    this.context.log(`Updating ${name} (${config.mode})…`);
    // The running model's files, when reused: never deleted by this update's clean-up.
    const keep = new Set('reuse' in source && source.reuse.kind === 'reused' ? [source.reuse.url] : []);
    const made: { models: string[]; config?: string; keep: ReadonlySet<string> } = { models: [], keep };
    const timeout = this.waitSeconds(config, options.config ?? {}, endpoint);
    let newConfig: string | undefined;
    try {
      const model = await this.createModel(session, name, source, flavor, config);
      made.models.push(model);
      const kept = config.mode === 'add' ? variantsNow(old, endpoint) : [];
      // As MLflow: an added model starts with no traffic; a replacing one takes it all. A
      // replacing one keeps the main variant's name (autoscaling is registered per variant name).
      const variants = [...kept, this.variant(config, model, config.mode === 'add' ? 0 : 1, main.VariantName)];
      newConfig = await this.createConfig(session, name, variants, config, old);
      made.config = newConfig;
      await this.updateEndpointTo(session, name, newConfig, config);
    } catch (error) {
      if (!(await this.tookEffect(session, name, made.config))) {
        await deleteResources(session, made, () => undefined).catch(() => undefined);
        throw error;
      }
    }
    if (!config.synchronous) return this.view(session, name);
    try {
      await waitForEndpoint(session, name, { inService: newConfig! }, timeout, this.context.log);
    } catch (error) {
      // Rolled back or failed: what this update made serves nothing (unless archived for a look).
      // (Not while the endpoint still uses them: a rollback that failed leaves it on the new config.)
      if (
        error instanceof MlDeployError &&
        error.code === 'INVALID_STATE' &&
        !config.archive &&
        !(await endpointUses(session, name, newConfig!))
      ) {
        await deleteResources(session, made, this.context.log).catch(() => undefined);
      }
      throw error;
    }
    for (const e of await liveUsedBy(session, name, tags, this.context.log)) await this.rollEndpoint(session, e, undefined, config);
    if (!config.archive && config.mode === 'replace') {
      const replaced = modelsOf(old).filter((m) => !made.models.includes(m));
      await deleteResources(session, { models: replaced, config: old.EndpointConfigName, keep }, this.context.log);
    }
    return this.view(session, name);
  }

  /**
   * Where an update's model comes from: `-m` when given; else the files the deployment runs now,
   * as they are (not the recorded URI again: a relative path read against today's folder, a
   * folder packed anew, a registry alias that moved). The new model takes over an upload of
   * mldeploy's unless the replaced model is archived with it.
   */
  private updateSource(
    name: string,
    modelUri: string | undefined,
    primary: DescribeModelOutput | undefined,
    config: SageMakerConfig,
  ): ModelSource {
    if (modelUri !== undefined) return { modelUri };
    const reuse = primary === undefined ? undefined : reusedModelData(primary, !config.archive || config.mode === 'add');
    if (reuse === undefined) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', `Deployment "${name}" has no model files to reuse; pass -m`, { target: TARGET });
    }
    return { reuse, recordedUri: primary?.PrimaryContainer?.Environment?.[MODEL_ENV.modelUri] };
  }

  /**
   * How long to wait for an update: `timeout_seconds` when given; else at least what the
   * update's DeploymentConfig (given, or the one SageMaker keeps from the last update) waits on
   * its own (traffic shifting steps, termination wait) plus provisioning.
   */
  private waitSeconds(config: SageMakerConfig, given: DeploymentConfig, endpoint: DescribeEndpointOutput): number {
    if ('timeout_seconds' in given) return config.timeout_seconds;
    const policy: PolicyWaits | undefined = config.deployment_config ?? endpoint.LastDeploymentConfig;
    return Math.max(config.timeout_seconds, policyWaitSeconds(policy, config.instance_count) ?? 0);
  }

  /**
   * UpdateEndpoint onto `configName`, with the given DeploymentConfig, or else SageMaker's
   * `RetainDeploymentConfig`: an earlier blue/green policy and its alarms stay in force.
   */
  private async updateEndpointTo(session: AwsSession, name: string, configName: string, config: SageMakerConfig): Promise<void> {
    await session.call('sagemaker:UpdateEndpoint', name, () =>
      session.sagemaker.send(
        new UpdateEndpointCommand({
          EndpointName: name,
          EndpointConfigName: configName,
          ...(config.deployment_config === undefined ? { RetainDeploymentConfig: true } : { DeploymentConfig: config.deployment_config }),
        }),
      ),
    );
  }

  /**
   * Whether endpoint `name` serves or rolls out `configName` although the call that asked for it
   * failed (its answer lost, its retry refused): what was made for it must then stay.
   */
  private async tookEffect(session: AwsSession, name: string, configName: string | undefined): Promise<boolean> {
    if (configName === undefined || !(await endpointUses(session, name, configName))) return false;
    this.context.log(`${name} uses ${configName} although the call's answer was an error: going on`);
    return true;
  }

  override async deleteDeployment(name: string, options: DeleteDeploymentOptions = {}): Promise<void> {
    const config = this.config(options.config, 'delete');
    if (!config.synchronous && !config.archive) throw mustArchive('a delete');
    const session = await this.session(config);
    const endpoint = await findEndpoint(session, name);
    if (endpoint === undefined) return;
    const tags = await tagsOf(session, endpoint.EndpointArn!);
    notAnEndpoint(name, tags, 'delete');
    const usedBy = await liveUsedBy(session, name, tags, this.context.log);
    if (usedBy.length > 0) {
      throw new MlDeployError('RESOURCE_CONFLICT', `Deployment "${name}" serves in endpoint(s) ${usedBy.join(', ')}`, {
        target: TARGET,
        hint: `Take it out of their traffic (mldeploy update-endpoint) or delete them first.`,
      });
    }
    const old = await describeConfig(session, endpoint.EndpointConfigName!).catch(() => undefined);
    this.context.log(`Deleting ${name}…`);
    await session.call('sagemaker:DeleteEndpoint', name, () => session.sagemaker.send(new DeleteEndpointCommand({ EndpointName: name })));
    if (!config.synchronous) return;
    await waitForEndpoint(session, name, { deleted: true }, config.timeout_seconds, this.context.log);
    if (!config.archive && old !== undefined) {
      await deleteResources(session, { models: modelsOf(old), config: old.EndpointConfigName }, this.context.log);
    }
  }

  override async listDeployments(_options?: EndpointOption): Promise<Deployment[]> {
    const session = await this.session();
    const all: Deployment[] = [];
    for (const e of await listAllEndpoints(session)) {
      // mldeploy endpoints (create-endpoint's) are listed by list-endpoints, not as deployments.
      if (e.EndpointArn !== undefined && (await tagsOf(session, e.EndpointArn))[TAGS.kind] === 'endpoint') continue;
      all.push({
        name: e.EndpointName ?? '',
        state: deploymentView(session.region, e, undefined, new Map())['state'],
        endpoint_status: e.EndpointStatus ?? null,
        endpoint_arn: e.EndpointArn ?? null,
        creation_time: e.CreationTime?.toISOString() ?? null,
      });
    }
    return all.sort((a, b) => a.name.localeCompare(b.name));
  }

  override async getDeployment(name: string, _options?: EndpointOption): Promise<Deployment> {
    return this.view(await this.session(), name);
  }

  private async view(session: AwsSession, name: string): Promise<Deployment> {
    const endpoint = await describeEndpoint(session, name, 'Deployment');
    notAnEndpoint(name, await tagsOf(session, endpoint.EndpointArn!), 'get');
    const config = await describeConfig(session, endpoint.EndpointConfigName!).catch(() => undefined);
    const models = new Map<string, DescribeModelOutput | undefined>();
    for (const model of config === undefined ? [] : modelsOf(config)) models.set(model, await findModel(session, model));
    return deploymentView(session.region, endpoint, config, models);
  }

  override async predict(
    deploymentName: string | undefined,
    inputs: PredictionInput,
    options: EndpointOption = {},
  ): Promise<PredictionsResponse> {
    const session = await this.session();
    const { endpoint, variant } = routeOf(deploymentName, options);
    return invokeEndpoint(session, { endpoint, variant, inputs });
  }

  override predictStream(
    deploymentName: string | undefined,
    inputs: PredictionInput,
    options: EndpointOption = {},
  ): AsyncIterable<Record<string, unknown>> {
    const { endpoint, variant } = routeOf(deploymentName, options);
    return invokeEndpointStream(() => this.session(), { endpoint, variant, inputs });
  }

  override async createEndpoint(name: string, raw: DeploymentConfig = {}): Promise<Endpoint> {
    checkSageMakerName(name, 'endpoint');
    const config = this.config(raw, 'endpoint');
    const traffic = requireTraffic(config);
    const session = await this.session(config);
    if ((await findEndpoint(session, name)) !== undefined) {
      throw new MlDeployError('RESOURCE_ALREADY_EXISTS', `A SageMaker endpoint named "${name}" already exists in ${session.region}`, {
        target: TARGET,
      });
    }
    const variants = await this.variantsFor(session, traffic);
    this.context.log(`Creating endpoint ${name} over ${Object.keys(traffic).join(', ')}…`);
    const configName = await this.createConfig(session, name, variants, config, {});
    try {
      await session.call('sagemaker:CreateEndpoint', name, () =>
        session.sagemaker.send(
          new CreateEndpointCommand({
            EndpointName: name,
            EndpointConfigName: configName,
            Tags: tagList(config.tags, { [TAGS.appName]: name, [TAGS.kind]: 'endpoint' }),
            DeploymentConfig: config.deployment_config,
          }),
        ),
      );
    } catch (error) {
      if (!(await this.tookEffect(session, name, configName))) {
        await deleteResources(session, { models: [], config: configName }, () => undefined).catch(() => undefined);
        throw error;
      }
    }
    for (const deployment of Object.keys(traffic)) await markUsedBy(session, deployment, name, true);
    if (config.synchronous) await waitForEndpoint(session, name, { inService: configName }, config.timeout_seconds, this.context.log);
    return this.getEndpoint(name);
  }

  override async updateEndpoint(name: string, raw: DeploymentConfig = {}): Promise<Endpoint> {
    const config = this.config(raw, 'endpoint');
    const traffic = requireTraffic(config);
    const session = await this.session(config);
    await this.mldeployEndpoint(session, name);
    await this.rollEndpoint(session, name, traffic, config);
    return this.getEndpoint(name);
  }

  override async deleteEndpoint(name: string): Promise<void> {
    const session = await this.session();
    const endpoint = await findEndpoint(session, name);
    if (endpoint === undefined) return;
    await this.mldeployEndpoint(session, name, endpoint);
    const config = await describeConfig(session, endpoint.EndpointConfigName!).catch(() => undefined);
    await session.call('sagemaker:DeleteEndpoint', name, () => session.sagemaker.send(new DeleteEndpointCommand({ EndpointName: name })));
    const defaults = this.config(undefined, 'endpoint');
    await waitForEndpoint(session, name, { deleted: true }, defaults.timeout_seconds, this.context.log);
    for (const variant of config?.ProductionVariants ?? []) {
      if (variant.VariantName !== undefined) await markUsedBy(session, variant.VariantName, name, false);
    }
    // The models are the deployments'; only the endpoint's own config goes.
    await deleteResources(session, { models: [], config: endpoint.EndpointConfigName }, this.context.log);
  }

  override async listEndpoints(): Promise<Endpoint[]> {
    const session = await this.session();
    const all: Endpoint[] = [];
    for (const e of await listAllEndpoints(session)) {
      if (e.EndpointArn === undefined || (await tagsOf(session, e.EndpointArn))[TAGS.kind] !== 'endpoint') continue;
      all.push({
        name: e.EndpointName ?? '',
        state: deploymentView(session.region, e, undefined, new Map())['state'],
        endpoint_status: e.EndpointStatus ?? null,
      });
    }
    return all.sort((a, b) => a.name.localeCompare(b.name));
  }

  override async getEndpoint(name: string): Promise<Endpoint> {
    const session = await this.session();
    const endpoint = await this.mldeployEndpoint(session, name);
    const config = await describeConfig(session, endpoint.EndpointConfigName!).catch(() => undefined);
    return endpointView(session.region, endpoint, config);
  }

  /** The endpoint, if `create-endpoint` made it; a deployment's endpoint is refused. */
  private async mldeployEndpoint(session: AwsSession, name: string, found?: DescribeEndpointOutput): Promise<DescribeEndpointOutput> {
    const endpoint = found ?? (await describeEndpoint(session, name, 'Endpoint'));
    if ((await tagsOf(session, endpoint.EndpointArn!))[TAGS.kind] !== 'endpoint') {
      throw new MlDeployError(
        'RESOURCE_DOES_NOT_EXIST',
        `Endpoint "${name}" does not exist in ${session.region}: "${name}" is a deployment`,
        {
          target: TARGET,
          hint: `Use 'mldeploy get --name ${name}' for a deployment.`,
        },
      );
    }
    return endpoint;
  }

  /**
   * Makes endpoint `name` serve `traffic` (its current split when omitted) over its deployments'
   * current models: only the weights move (UpdateEndpointWeightsAndCapacities, at once) when the
   * variants serve the same models, else a new config rolls out (UpdateEndpoint).
   */
  private async rollEndpoint(
    session: AwsSession,
    name: string,
    wanted: Readonly<Record<string, number>> | undefined,
    config: SageMakerConfig,
  ): Promise<void> {
    const endpoint = await describeEndpoint(session, name, 'Endpoint');
    checkChangeable(endpoint, 'endpoint');
    const old = await describeConfig(session, endpoint.EndpointConfigName!);
    const traffic =
      wanted ?? Object.fromEntries((endpoint.ProductionVariants ?? []).map((v) => [v.VariantName ?? '', v.CurrentWeight ?? 0]));
    const variants = await this.variantsFor(session, traffic);
    const sameModels =
      variants.length === (old.ProductionVariants ?? []).length &&
      variants.every((v) => old.ProductionVariants?.some((o) => o.VariantName === v.VariantName && o.ModelName === v.ModelName));
    if (sameModels) {
      this.context.log(`Moving the traffic of ${name}: ${JSON.stringify(traffic)}`);
      await session.call('sagemaker:UpdateEndpointWeightsAndCapacities', name, () =>
        session.sagemaker.send(
          new UpdateEndpointWeightsAndCapacitiesCommand({
            EndpointName: name,
            DesiredWeightsAndCapacities: variants.map((v) => ({ VariantName: v.VariantName, DesiredWeight: v.InitialVariantWeight })),
          }),
        ),
      );
      await waitForEndpoint(session, name, { inService: old.EndpointConfigName! }, config.timeout_seconds, this.context.log);
      return;
    }
    this.context.log(`Rolling endpoint ${name} onto its deployments' models…`);
    const configName = await this.createConfig(session, name, variants, config, old);
    try {
      await this.updateEndpointTo(session, name, configName, config);
    } catch (error) {
      if (!(await this.tookEffect(session, name, configName))) {
        await deleteResources(session, { models: [], config: configName }, () => undefined).catch(() => undefined);
        throw error;
      }
    }
    await waitForEndpoint(session, name, { inService: configName }, config.timeout_seconds, this.context.log);
    const before = new Set((old.ProductionVariants ?? []).map((v) => v.VariantName));
    for (const v of variants) if (!before.has(v.VariantName)) await markUsedBy(session, v.VariantName!, name, true);
    for (const v of before) if (v !== undefined && !(v in traffic)) await markUsedBy(session, v, name, false);
    if (!config.archive) await deleteResources(session, { models: [], config: old.EndpointConfigName }, this.context.log);
  }

  /** An endpoint's variants: one per deployment, named after it, serving its current main model on its instances. */
  private async variantsFor(session: AwsSession, traffic: Readonly<Record<string, number>>): Promise<ProductionVariant[]> {
    const variants: ProductionVariant[] = [];
    for (const [deployment, weight] of Object.entries(traffic)) {
      const endpoint = await describeEndpoint(session, deployment, 'Deployment');
      if ((await tagsOf(session, endpoint.EndpointArn!))[TAGS.kind] === 'endpoint') {
        throw new MlDeployError('INVALID_PARAMETER_VALUE', `"${deployment}" is an endpoint, not a deployment`, { target: TARGET });
      }
      const config = await describeConfig(session, endpoint.EndpointConfigName!);
      const main = mainVariant(config, endpoint);
      variants.push({ ...main, VariantName: deployment, InitialVariantWeight: weight });
    }
    return variants;
  }

  private async primaryModel(
    session: AwsSession,
    config: DescribeEndpointConfigOutput,
    endpoint: DescribeEndpointOutput,
  ): Promise<DescribeModelOutput | undefined> {
    const main = mainVariant(config, endpoint);
    return main.ModelName === undefined ? undefined : findModel(session, main.ModelName);
  }

  /** Makes the SageMaker model: its files located (and uploaded when local) or reused, the serving image, the role. */
  private async createModel(
    session: AwsSession,
    name: string,
    source: ModelSource,
    flavor: string | undefined,
    config: SageMakerConfig,
  ): Promise<string> {
    const modelName = resourceName(name, 'model');
    const request =
      'modelUri' in source
        ? {
            modelUri: source.modelUri,
            modelName,
            env: this.context.env,
            cwd: this.context.cwd,
            bucket: () => ensureBucket(session, config.bucket),
          }
        : undefined;
    // Checked before anything is made in AWS: a URI SageMaker cannot read, a folder that is no model.
    const found = request === undefined ? undefined : await locateModelData(request);
    const role = config.execution_role_arn ?? (await defaultExecutionRole(session));
    const image = config.image_url ?? defaultImageUrl((await session.identity()).account, session.region);
    const data = 'reuse' in source ? source.reuse : await prepareModelData(session, found!, request!, this.context.log);
    const modelUri = 'modelUri' in source ? source.modelUri : source.recordedUri;
    const owned = data.kind === 'uploaded' || (data.kind === 'reused' && data.owned);
    const environment: Record<string, string> = {
      ...Object.fromEntries(Object.entries(config.env ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
      ...(modelUri === undefined ? {} : { [MODEL_ENV.modelUri]: modelUri }),
      ...(flavor === undefined ? {} : { [MODEL_ENV.flavor]: flavor }),
      ...(owned ? { [MODEL_ENV.uploaded]: 'true' } : {}),
    };
    try {
      await session.call('sagemaker:CreateModel', modelName, () =>
        session.sagemaker.send(
          new CreateModelCommand({
            ModelName: modelName,
            ExecutionRoleArn: role,
            PrimaryContainer: { Image: image, Environment: environment, ...containerModelData(data) },
            ...(config.vpc_config === undefined ? {} : { VpcConfig: asGiven<VpcConfig>(config.vpc_config) }),
            Tags: tagList(config.tags, { [TAGS.appName]: name }),
          }),
        ),
      );
    } catch (error) {
      await deleteUploadedModelData(session, data).catch(() => undefined);
      throw error;
    }
    return modelName;
  }

  /**
   * A variant serving `model` with the config's instances (or serverless settings), as MLflow
   * makes it: named `variant_name`, else `keepName` (a replaced main variant's), else the model's.
   */
  private variant(config: SageMakerConfig, model: string, weight: number, keepName: string | undefined): ProductionVariant {
    const name = config.variant_name ?? (config.mode === 'replace' ? keepName : undefined) ?? model;
    const variant: ProductionVariant = { VariantName: name, ModelName: model, InitialVariantWeight: weight };
    if (Object.keys(config.serverless_config).length > 0)
      return { ...variant, ServerlessConfig: asGiven<ProductionVariantServerlessConfig>(config.serverless_config) };
    return {
      ...variant,
      InstanceType: config.instance_type as ProductionVariant['InstanceType'],
      InitialInstanceCount: config.instance_count,
    };
  }

  private async createConfig(
    session: AwsSession,
    name: string,
    variants: ProductionVariant[],
    config: SageMakerConfig,
    old: Partial<DescribeEndpointConfigOutput>,
  ): Promise<string> {
    const configName = resourceName(name, 'config');
    const asyncConfig =
      Object.keys(config.async_inference_config).length > 0
        ? asGiven<AsyncInferenceConfig>(config.async_inference_config)
        : old.AsyncInferenceConfig;
    const capture =
      config.data_capture_config === undefined ? old.DataCaptureConfig : asGiven<DataCaptureConfig>(config.data_capture_config);
    await session.call('sagemaker:CreateEndpointConfig', configName, () =>
      session.sagemaker.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: configName,
          ProductionVariants: variants,
          Tags: [{ Key: TAGS.appName, Value: name }],
          ...(asyncConfig === undefined ? {} : { AsyncInferenceConfig: asyncConfig }),
          ...(capture === undefined ? {} : { DataCaptureConfig: capture }),
        }),
      ),
    );
    return configName;
  }
}

/**
 * A JSON object from the config given to SageMaker as it is: SageMaker validates its own
 * structures (and names the field that is wrong), as MLflow leaves it to.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- T is the SDK structure each call site names
function asGiven<T>(value: Readonly<Record<string, unknown>>): T {
  return value as T;
}

/**
 * The settings of the running deployment that an update does not name: its execution role,
 * image, instances (or serverless settings), VPC and environment stay as they are. (MLflow
 * resets every key not given to its default, so that an update without -C instance_type moves
 * a deployment back to ml.m4.xlarge: listed as a deviation.)
 */
function keepUnnamed(
  parsed: SageMakerConfig,
  given: DeploymentConfig,
  model: DescribeModelOutput | undefined,
  main: ProductionVariant,
  endpoint: DescribeEndpointOutput,
): SageMakerConfig {
  const named = (key: string): boolean => key in given;
  const kept: { -readonly [K in keyof SageMakerConfig]?: SageMakerConfig[K] } = {};
  if (!named('execution_role_arn') && model?.ExecutionRoleArn !== undefined) kept.execution_role_arn = model.ExecutionRoleArn;
  const container = model?.PrimaryContainer;
  if (!named('image_url') && container?.Image !== undefined) kept.image_url = container.Image;
  if (!named('vpc_config') && model?.VpcConfig !== undefined) kept.vpc_config = Object.fromEntries(Object.entries(model.VpcConfig));
  if (!named('env') && container?.Environment !== undefined) {
    kept.env = Object.fromEntries(
      Object.entries(container.Environment).filter(([key]) => !(Object.values(MODEL_ENV) as string[]).includes(key)),
    );
  }
  const sizing = named('instance_type') || named('instance_count') || named('serverless_config');
  if (!sizing) {
    if (main.ServerlessConfig !== undefined) kept.serverless_config = Object.fromEntries(Object.entries(main.ServerlessConfig));
    if (main.InstanceType !== undefined) kept.instance_type = main.InstanceType;
    const current = endpoint.ProductionVariants?.find((v) => v.VariantName === main.VariantName)?.CurrentInstanceCount;
    // What runs now, autoscaling included, rather than what the config started with.
    const count = current ?? main.InitialInstanceCount;
    if (count !== undefined && count > 0) kept.instance_count = count;
  }
  return { ...parsed, ...kept };
}

/** Every endpoint of the region, page by page; a failure is classified as any other call's (the paginator sends by itself). */
function listAllEndpoints(session: AwsSession): Promise<EndpointSummary[]> {
  return session.call('sagemaker:ListEndpoints', undefined, async () => {
    const all: EndpointSummary[] = [];
    for await (const page of paginateListEndpoints({ client: session.sagemaker }, {})) all.push(...(page.Endpoints ?? []));
    return all;
  });
}

/** The variant with the most traffic now: the deployment's main model. */
function mainVariant(config: DescribeEndpointConfigOutput, endpoint: DescribeEndpointOutput): ProductionVariant {
  const variants = variantsNow(config, endpoint);
  const main = [...variants].sort((a, b) => (b.InitialVariantWeight ?? 0) - (a.InitialVariantWeight ?? 0))[0];
  if (main === undefined) {
    throw new MlDeployError('INVALID_STATE', `Endpoint config ${config.EndpointConfigName ?? ''} has no production variant`, {
      target: TARGET,
    });
  }
  return main;
}

/** Where a prediction goes: a deployment's endpoint, or an mldeploy endpoint (pinned to one deployment's variant when both are named). */
function routeOf(deploymentName: string | undefined, options: EndpointOption): { endpoint: string; variant: string | undefined } {
  if (options.endpoint !== undefined) return { endpoint: options.endpoint, variant: deploymentName };
  if (deploymentName === undefined) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', 'predict needs a deployment name or an endpoint', { target: TARGET });
  }
  return { endpoint: deploymentName, variant: undefined };
}

function requireTraffic(config: SageMakerConfig): Readonly<Record<string, number>> {
  if (config.traffic === undefined) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', 'An endpoint needs a traffic split over deployments', {
      target: TARGET,
      hint: `Pass -C traffic='{"a": 90, "b": 10}' (deployments and percentages summing to 100).`,
    });
  }
  checkTrafficSplit(config.traffic, TARGET);
  for (const name of Object.keys(config.traffic)) checkSageMakerName(name, 'deployment');
  return config.traffic;
}

/**
 * Refuses a deployment command on an mldeploy endpoint (create-endpoint's): its variants serve
 * other deployments' models, which `update` or `delete` would replace or delete.
 */
function notAnEndpoint(name: string, tags: Readonly<Record<string, string>>, command: 'get' | 'update' | 'delete'): void {
  if (tags[TAGS.kind] !== 'endpoint') return;
  const use = { get: 'get-endpoint', update: 'update-endpoint', delete: 'delete-endpoint' }[command];
  throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `Deployment "${name}" does not exist: "${name}" is an endpoint`, {
    target: TARGET,
    hint: `Use 'mldeploy ${use} --endpoint ${name}' for an endpoint.`,
  });
}

function wrongMode(mode: string): MlDeployError {
  return new MlDeployError('INVALID_PARAMETER_VALUE', `mode ${mode} applies to updates; a create takes mode=create`, { target: TARGET });
}

/** MLflow's rule: what is replaced can only be cleaned up by a client that waits for the change. */
function mustArchive(what: string): MlDeployError {
  return new MlDeployError('INVALID_PARAMETER_VALUE', `Resources must be archived (archive=True) for ${what} with synchronous=False`, {
    target: TARGET,
    hint: 'Pass -C archive=True, or leave synchronous at True so that mldeploy waits and cleans up.',
  });
}
