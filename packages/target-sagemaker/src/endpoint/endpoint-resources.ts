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
  /** On a deployment: the mldeploy endpoints whose variants serve its model, space-separated. */
  usedBy: 'mldeploy:endpoints',
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

/** Deletes models (and the archives mldeploy uploaded for them) and an endpoint config, skipping any already gone. */
export async function deleteResources(
  session: AwsSession,
  resources: { readonly models: readonly string[]; readonly config?: string | undefined },
  log: (line: string) => void,
): Promise<void> {
  const gone = (error: unknown): void => {
    if (!(isMlDeployError(error) && error.code === 'RESOURCE_DOES_NOT_EXIST')) throw error;
  };
  for (const name of resources.models) {
    const model = await findModel(session, name);
    if (model === undefined) continue;
    const data = modelDataOf(model);
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

/** A config's variants as CreateEndpointConfig takes them again, with the weights the endpoint has now. */
export function variantsNow(config: DescribeEndpointConfigOutput, endpoint: DescribeEndpointOutput): ProductionVariant[] {
  return (config.ProductionVariants ?? []).map((variant) => {
    const current = endpoint.ProductionVariants?.find((v) => v.VariantName === variant.VariantName);
    return { ...variant, InitialVariantWeight: current?.CurrentWeight ?? variant.InitialVariantWeight };
  });
}

/** An endpoint's tags as a record. */
export async function tagsOf(session: AwsSession, arn: string): Promise<Record<string, string>> {
  const listed = await session.call('sagemaker:ListTags', arn, () => session.sagemaker.send(new ListTagsCommand({ ResourceArn: arn })));
  return Object.fromEntries((listed.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** The mldeploy endpoints a deployment's model serves in (its {@link TAGS.usedBy} tag). */
export function usedByOf(tags: Readonly<Record<string, string>>): string[] {
  return (tags[TAGS.usedBy] ?? '').split(' ').filter((e) => e !== '');
}

/** Records (or forgets) that endpoint `endpoint` serves deployment `deployment`'s model. */
export async function markUsedBy(session: AwsSession, deployment: string, endpoint: string, used: boolean): Promise<void> {
  const described = await findEndpoint(session, deployment);
  if (described?.EndpointArn === undefined) return;
  const arn = described.EndpointArn;
  const now = usedByOf(await tagsOf(session, arn));
  const next = used ? [...new Set([...now, endpoint])] : now.filter((e) => e !== endpoint);
  if (next.length > 0) {
    await session.call('sagemaker:AddTags', arn, () =>
      session.sagemaker.send(new AddTagsCommand({ ResourceArn: arn, Tags: [{ Key: TAGS.usedBy, Value: next.join(' ') }] })),
    );
  } else if (now.length > 0) {
    await session.call('sagemaker:DeleteTags', arn, () =>
      session.sagemaker.send(new DeleteTagsCommand({ ResourceArn: arn, TagKeys: [TAGS.usedBy] })),
    );
  }
}

/** What a wait for an endpoint waits for: a config in service, or the endpoint gone. */
export type EndpointGoal = { readonly inService: string } | { readonly deleted: true };

/**
 * Waits, polling DescribeEndpoint, until the endpoint serves `goal.inService` (InService with that
 * config) or is gone. InService with another config means SageMaker rolled the update back (a
 * failed health check, a CloudWatch alarm of the DeploymentConfig), as MLflow reads it too.
 *
 * @throws MlDeployError `INVALID_STATE` when the endpoint failed or was rolled back (with
 * SageMaker's reason); `DEADLINE_EXCEEDED` after `timeoutSeconds`, saying SageMaker goes on.
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
            hint: `SageMaker goes on with it: watch it with 'mldeploy get --name ${name}', or give more time with -C timeout_seconds=N.`,
          },
        ),
    },
  ).then((endpoint) => endpoint ?? undefined);
}
