import { randomBytes } from 'node:crypto';
import {
  AddTagsCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DeleteTagsCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  ListTagsCommand,
  type DescribeEndpointConfigOutput,
  type DescribeEndpointOutput,
  type DescribeModelOutput,
  type ProductionVariant,
} from '@aws-sdk/client-sagemaker';
import { MlDeployError, isMlDeployError, pollUntil } from '@mldeploy/core';
import type { AwsSession } from '../aws/aws-session.js';
import { deleteUploadedModelData, type ModelData } from '../model/model-data.js';

const TARGET = 'sagemaker';

/** Container environment keys by which mldeploy records what a SageMaker model serves. */
export const MODEL_ENV = {
  modelUri: 'MLDEPLOY_MODEL_URI',
  flavor: 'MLDEPLOY_FLAVOR',
  /** "true" when the model's files are an archive mldeploy uploaded (and may delete). */
  uploaded: 'MLDEPLOY_MODEL_UPLOADED',
} as const;

/** Tags on SageMaker endpoints: MLflow's `app_name`, and mldeploy's endpoint bookkeeping. */
export const TAGS = {
  appName: 'app_name',
  /** On an endpoint made by `create-endpoint`. */
  kind: 'mldeploy:kind',
  /**
   * On a deployment, one key per mldeploy endpoint whose variants serve its model
   * (`mldeploy:endpoint:<endpoint>` = `true`): added and removed one at a time, so that two
   * endpoints changing at once do not overwrite each other's mark.
   */
  usedByPrefix: 'mldeploy:endpoint:',
} as const;

/** SageMaker's name rule for endpoints, models and configs: letters, digits and single-or-more hyphens, 63 at most. */
const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/**
 * Throws `INVALID_PARAMETER_VALUE` for a name SageMaker would refuse, before anything is made.
 */
export function checkSageMakerName(name: string, what: string): void {
  if (!NAME.test(name)) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid ${what} name ${JSON.stringify(name)} for SageMaker`, {
      target: TARGET,
      hint: 'Use letters, digits and hyphens, starting with a letter or digit, at most 63 characters.',
    });
  }
}

/**
 * A name for a resource of deployment `name`, as MLflow names them (`<name>-model-<id>`,
 * `<name>-config-<id>`): unique, and cut to SageMaker's 63 characters.
 */
export function resourceName(name: string, kind: 'model' | 'config'): string {
  const suffix = `-${kind}-${randomBytes(5).toString('hex')}`;
  return `${name.slice(0, 63 - suffix.length).replace(/-+$/, '')}${suffix}`;
}

/** The endpoint, or `undefined` when SageMaker has none of that name. */
export async function findEndpoint(session: AwsSession, name: string): Promise<DescribeEndpointOutput | undefined> {
  try {
    return await session.call('sagemaker:DescribeEndpoint', name, () =>
      session.sagemaker.send(new DescribeEndpointCommand({ EndpointName: name })),
    );
  } catch (error) {
    if (isMlDeployError(error) && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
    throw error;
  }
}

/** The endpoint; `RESOURCE_DOES_NOT_EXIST` naming `what` ("Deployment", "Endpoint") when missing. */
export async function describeEndpoint(session: AwsSession, name: string, what: string): Promise<DescribeEndpointOutput> {
  const found = await findEndpoint(session, name);
  if (found === undefined) {
    throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `${what} "${name}" does not exist in ${session.region}`, {
      target: TARGET,
      hint: `List what there is with 'mldeploy list -t sagemaker:/${session.region}'.`,
    });
  }
  return found;
}

export async function describeConfig(session: AwsSession, name: string): Promise<DescribeEndpointConfigOutput> {
  return session.call('sagemaker:DescribeEndpointConfig', name, () =>
    session.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name })),
  );
}

/** The model, or `undefined` when it was deleted (an archive-less update of another deployment may have). */
export async function findModel(session: AwsSession, name: string): Promise<DescribeModelOutput | undefined> {
  try {
    return await session.call('sagemaker:DescribeModel', name, () => session.sagemaker.send(new DescribeModelCommand({ ModelName: name })));
  } catch (error) {
    if (isMlDeployError(error) && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
    throw error;
  }
}

/** Where a model's files are, as {@link ModelData}: an archive mldeploy uploaded, or the user's own. */
function modelDataOf(model: DescribeModelOutput): ModelData | undefined {
  const container = model.PrimaryContainer ?? model.Containers?.[0];
  const url = container?.ModelDataUrl;
  if (url === undefined) return undefined;
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (container?.Environment?.[MODEL_ENV.uploaded] === 'true' && match !== null) {
    return { kind: 'uploaded', bucket: match[1]!, key: match[2]! };
  }
  return { kind: 's3', uri: url };
}

/**
 * The files a model serves, to give to a new model as they are (an update without a new model
 * URI): its container's ModelDataUrl or ModelDataSource, owned (deleted with the new model) when
 * mldeploy uploaded them and `takeOver` says the new model takes them over.
 */
export function reusedModelData(model: DescribeModelOutput, takeOver: boolean): ModelData | undefined {
  const container = model.PrimaryContainer ?? model.Containers?.[0];
  const source = container?.ModelDataSource?.S3DataSource;
  if (container?.ModelDataUrl !== undefined) {
    return {
      kind: 'reused',
      container: { ModelDataUrl: container.ModelDataUrl },
      url: container.ModelDataUrl,
      owned: takeOver && container.Environment?.[MODEL_ENV.uploaded] === 'true',
    };
  }
  if (source?.S3Uri !== undefined) {
    return { kind: 'reused', container: { ModelDataSource: container!.ModelDataSource }, url: source.S3Uri, owned: false };
  }
  return undefined;
}

/**
 * Deletes models (and the archives mldeploy uploaded for them, except those at `keep`: files a
 * model that stays reuses) and an endpoint config, skipping any already gone.
 */
export async function deleteResources(
  session: AwsSession,
  resources: { readonly models: readonly string[]; readonly config?: string | undefined; readonly keep?: ReadonlySet<string> },
  log: (line: string) => void,
): Promise<void> {
  const gone = (error: unknown): void => {
    if (!(isMlDeployError(error) && error.code === 'RESOURCE_DOES_NOT_EXIST')) throw error;
  };
  for (const name of resources.models) {
    const model = await findModel(session, name);
    if (model === undefined) continue;
    const described = modelDataOf(model);
    const data = described?.kind === 'uploaded' && resources.keep?.has(`s3://${described.bucket}/${described.key}`) ? undefined : described;
    await session
      .call('sagemaker:DeleteModel', name, () => session.sagemaker.send(new DeleteModelCommand({ ModelName: name })))
      .catch(gone);
    if (data !== undefined) await deleteUploadedModelData(session, data).catch(gone);
    log(`Deleted model ${name}${data?.kind === 'uploaded' ? ` and s3://${data.bucket}/${data.key}` : ''}`);
  }
  const config = resources.config;
  if (config !== undefined) {
    await session
      .call('sagemaker:DeleteEndpointConfig', config, () =>
        session.sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: config })),
      )
      .catch(gone);
    log(`Deleted endpoint config ${config}`);
  }
}

/** The names of the models an endpoint config's variants serve. */
export function modelsOf(config: DescribeEndpointConfigOutput): string[] {
  return (config.ProductionVariants ?? []).map((v) => v.ModelName).filter((m): m is string => m !== undefined);
}

/**
 * A config's variants as CreateEndpointConfig takes them again, with the weights and instance
 * counts the endpoint has now (autoscaling's, not what the config started with).
 */
export function variantsNow(config: DescribeEndpointConfigOutput, endpoint: DescribeEndpointOutput): ProductionVariant[] {
  return (config.ProductionVariants ?? []).map((variant) => {
    const current = endpoint.ProductionVariants?.find((v) => v.VariantName === variant.VariantName);
    const count = current?.CurrentInstanceCount;
    return {
      ...variant,
      InitialVariantWeight: current?.CurrentWeight ?? variant.InitialVariantWeight,
      ...(variant.InitialInstanceCount !== undefined && count !== undefined && count > 0 ? { InitialInstanceCount: count } : {}),
    };
  });
}

/** An endpoint's tags as a record (every page of ListTags). */
export async function tagsOf(session: AwsSession, arn: string): Promise<Record<string, string>> {
  const tags: Record<string, string> = {};
  let token: string | undefined;
  do {
    const next = token;
    const listed = await session.call('sagemaker:ListTags', arn, () =>
      session.sagemaker.send(new ListTagsCommand({ ResourceArn: arn, ...(next === undefined ? {} : { NextToken: next }) })),
    );
    for (const tag of listed.Tags ?? []) tags[tag.Key ?? ''] = tag.Value ?? '';
    token = listed.NextToken === '' ? undefined : listed.NextToken;
  } while (token !== undefined);
  return tags;
}

/** The mldeploy endpoints a deployment's model serves in (its `mldeploy:endpoint:<name>` tags). */
function usedByOf(tags: Readonly<Record<string, string>>): string[] {
  return Object.keys(tags)
    .filter((key) => key.startsWith(TAGS.usedByPrefix) && key.length > TAGS.usedByPrefix.length)
    .map((key) => key.slice(TAGS.usedByPrefix.length))
    .sort();
}

/** Records (or forgets) that endpoint `endpoint` serves deployment `deployment`'s model: one tag key per endpoint. */
export async function markUsedBy(session: AwsSession, deployment: string, endpoint: string, used: boolean): Promise<void> {
  const described = await findEndpoint(session, deployment);
  if (described?.EndpointArn === undefined) return;
  const arn = described.EndpointArn;
  const key = `${TAGS.usedByPrefix}${endpoint}`;
  if (used) {
    await session.call('sagemaker:AddTags', arn, () =>
      session.sagemaker.send(new AddTagsCommand({ ResourceArn: arn, Tags: [{ Key: key, Value: 'true' }] })),
    );
  } else {
    await session.call('sagemaker:DeleteTags', arn, () =>
      session.sagemaker.send(new DeleteTagsCommand({ ResourceArn: arn, TagKeys: [key] })),
    );
  }
}

/**
 * The mldeploy endpoints that serve deployment `deployment` (whose tags are `tags`) and still
 * exist: a mark left by an endpoint deleted some other way (the console, a failed
 * delete-endpoint) is removed, so that it does not block the deployment's delete for ever.
 */
export async function liveUsedBy(
  session: AwsSession,
  deployment: string,
  tags: Readonly<Record<string, string>>,
  log: (line: string) => void,
): Promise<string[]> {
  const live: string[] = [];
  for (const endpoint of usedByOf(tags)) {
    const found = await findEndpoint(session, endpoint);
    if (found !== undefined) {
      live.push(endpoint);
      continue;
    }
    log(`Endpoint ${endpoint} no longer exists: forgetting that it served ${deployment}`);
    await markUsedBy(session, deployment, endpoint, false);
  }
  return live;
}

/** Endpoint statuses during which SageMaker refuses (or would queue badly) another change. */
const BUSY = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting']);

/**
 * Refuses a change of an endpoint that cannot take one now, before anything is made: one that is
 * being created, updated or rolled back (wait, then try again), or one that failed (delete it).
 *
 * @throws MlDeployError `INVALID_STATE` saying what to do.
 */
export function checkChangeable(endpoint: DescribeEndpointOutput, what: 'deployment' | 'endpoint'): void {
  const name = endpoint.EndpointName ?? '';
  const status = endpoint.EndpointStatus ?? 'Unknown';
  const get = what === 'deployment' ? `mldeploy get --name ${name}` : `mldeploy get-endpoint --endpoint ${name}`;
  if (BUSY.has(status)) {
    throw new MlDeployError('INVALID_STATE', `Endpoint ${name} is ${status}: wait for it (${get}) and try again`, {
      target: TARGET,
      hint: 'SageMaker takes one change of an endpoint at a time.',
    });
  }
  if (status === 'Failed' || status === 'UpdateRollbackFailed') {
    const reason = endpoint.FailureReason === undefined ? '' : `: ${endpoint.FailureReason}`;
    const remove = what === 'deployment' ? `mldeploy delete --name ${name}` : `mldeploy delete-endpoint --endpoint ${name}`;
    throw new MlDeployError('INVALID_STATE', `Endpoint ${name} is ${status}${reason}`, {
      target: TARGET,
      hint: `An endpoint in this state cannot be updated: delete it (${remove}) and create it again.`,
    });
  }
}

/**
 * Whether endpoint `name` already serves, or is rolling out, endpoint config `config`: a create or
 * update whose answer was lost (the SDK's retry then failed) may still have taken effect, and
 * what it made must then not be deleted.
 */
export async function endpointUses(session: AwsSession, name: string, config: string): Promise<boolean> {
  const endpoint = await findEndpoint(session, name).catch(() => undefined);
  return (
    endpoint !== undefined && (endpoint.EndpointConfigName === config || endpoint.PendingDeploymentSummary?.EndpointConfigName === config)
  );
}

/** What a wait for an endpoint waits for: a config in service, or the endpoint gone. */
export type EndpointGoal = { readonly inService: string } | { readonly deleted: true };

/**
 * Waits, polling DescribeEndpoint, until the endpoint serves `goal.inService` (InService with that
 * config) or is gone. InService with another config means SageMaker rolled the update back (a
 * failed health check, a CloudWatch alarm of the DeploymentConfig), as MLflow reads it too.
 *
 * @throws MlDeployError `INVALID_STATE` when the endpoint failed, was rolled back, or failed to
 * roll back (`UpdateRollbackFailed`), with SageMaker's reason; `DEADLINE_EXCEEDED` after
 * `timeoutSeconds`, saying SageMaker goes on.
 */
export async function waitForEndpoint(
  session: AwsSession,
  name: string,
  goal: EndpointGoal,
  timeoutSeconds: number,
  log: (line: string) => void,
): Promise<DescribeEndpointOutput | undefined> {
  let last: string | undefined;
  return pollUntil<DescribeEndpointOutput | null>(
    async () => {
      const endpoint = await findEndpoint(session, name);
      if (endpoint === undefined) {
        if ('deleted' in goal) return null;
        throw new MlDeployError('INVALID_STATE', `Endpoint "${name}" was deleted while mldeploy waited for it`, { target: TARGET });
      }
      const status = endpoint.EndpointStatus ?? 'Unknown';
      if (status !== last) log(`Waiting for ${name}: ${status}`);
      last = status;
      if ('deleted' in goal) return undefined;
      const reason = endpoint.FailureReason === undefined ? '' : `: ${endpoint.FailureReason}`;
      if (status === 'Failed') {
        throw new MlDeployError('INVALID_STATE', `Endpoint "${name}" failed${reason}`, {
          target: TARGET,
          hint: `Look at the container's logs in CloudWatch (/aws/sagemaker/Endpoints/${name}); delete it with 'mldeploy delete --name ${name}'.`,
        });
      }
      if (status === 'UpdateRollbackFailed') {
        // Final: SageMaker neither finished the update nor went back; the endpoint serves a mix.
        throw new MlDeployError('INVALID_STATE', `The update of "${name}" failed and so did its rollback (UpdateRollbackFailed)${reason}`, {
          target: TARGET,
          hint: `Look at the container's logs in CloudWatch (/aws/sagemaker/Endpoints/${name}); update it again with a config that works, or delete it.`,
        });
      }
      if (status !== 'InService') return undefined;
      if (endpoint.EndpointConfigName === goal.inService) return endpoint;
      throw new MlDeployError(
        'INVALID_STATE',
        `SageMaker rolled the update of "${name}" back: it serves ${endpoint.EndpointConfigName ?? 'another config'} again${reason}`,
        {
          target: TARGET,
          hint: `Look at the container's logs in CloudWatch (/aws/sagemaker/Endpoints/${name}) and the alarms of the deployment_config.`,
        },
      );
    },
    {
      timeoutMs: timeoutSeconds * 1000,
      minDelayMs: 500,
      maxDelayMs: 15_000,
      onTimeout: () =>
        new MlDeployError(
          'DEADLINE_EXCEEDED',
          `Endpoint "${name}" did not ${'deleted' in goal ? 'go away' : 'reach InService'} within ${timeoutSeconds} s (status ${last ?? 'unknown'})`,
          {
            target: TARGET,
            hint:
              `SageMaker goes on with it: watch it with 'mldeploy get --name ${name}', or give more time with -C timeout_seconds=N ` +
              "(a deployment_config's traffic shifting waits and TerminationWaitInSeconds count in it).",
          },
        ),
    },
  ).then((endpoint) => endpoint ?? undefined);
}
