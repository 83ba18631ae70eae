import { MlDeployError, type DeploymentConfig } from '@mldeploy/core';
import type { z } from 'zod';
import type { SageMakerLocation } from '../target/sagemaker-uri.js';
import { deploymentConfigSchema, type SageMakerDeploymentConfig } from './deployment-config.js';

/** MLflow's defaults (mlflow/sagemaker: DEFAULT_REGION_NAME, DEFAULT_SAGEMAKER_INSTANCE_TYPE, …). */
const DEFAULT_REGION = 'us-west-2';
const DEFAULT_INSTANCE_TYPE = 'ml.m4.xlarge';

/** The deployment modes: `create` for a create; `replace` (default) or `add` for an update. */
type DeploymentMode = 'create' | 'replace' | 'add';

/** The sagemaker target's config, MLflow's keys with MLflow's defaults. */
export interface SageMakerConfig {
  readonly region_name: string;
  readonly assume_role_arn: string | undefined;
  readonly execution_role_arn: string | undefined;
  readonly bucket: string | undefined;
  readonly image_url: string | undefined;
  readonly archive: boolean;
  readonly instance_type: string;
  readonly instance_count: number;
  readonly vpc_config: Readonly<Record<string, unknown>> | undefined;
  readonly data_capture_config: Readonly<Record<string, unknown>> | undefined;
  readonly synchronous: boolean;
  readonly timeout_seconds: number;
  readonly variant_name: string | undefined;
  readonly env: Readonly<Record<string, unknown>> | undefined;
  readonly tags: Readonly<Record<string, unknown>> | undefined;
  readonly async_inference_config: Readonly<Record<string, unknown>>;
  readonly serverless_config: Readonly<Record<string, unknown>>;
  readonly mode: DeploymentMode;
  /** mldeploy's addition: SageMaker's own DeploymentConfig for creates and updates (blue/green, rolling, auto-rollback). */
  readonly deployment_config: SageMakerDeploymentConfig | undefined;
  /** Endpoints only: the traffic split over deployments, percentages summing to 100. */
  readonly traffic: Readonly<Record<string, number>> | undefined;
}

/** What a config is read for: the keys each allows differ (`mode` for deployments, `traffic` for endpoints). */
export type ConfigOperation = 'create' | 'update' | 'delete' | 'endpoint';

const STRING_KEYS = [
  'region_name',
  'assume_role_arn',
  'execution_role_arn',
  'bucket',
  'image_url',
  'instance_type',
  'variant_name',
] as const;
const INT_KEYS = ['instance_count', 'timeout_seconds'] as const;
const BOOL_KEYS = ['archive', 'synchronous'] as const;
const DICT_KEYS = [
  'vpc_config',
  'data_capture_config',
  'env',
  'tags',
  'async_inference_config',
  'serverless_config',
  'deployment_config',
  'traffic',
] as const;
const KNOWN: readonly string[] = [...STRING_KEYS, ...INT_KEYS, ...BOOL_KEYS, ...DICT_KEYS, 'mode'];

function invalid(message: string): MlDeployError {
  return new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid config for the sagemaker target: ${message}`, {
    target: 'sagemaker',
    hint: `Known keys: ${KNOWN.join(', ')}. See 'mldeploy help -t sagemaker'.`,
  });
}

/**
 * Reads a deployment's config as MLflow's SageMaker target does (`_apply_custom_config`): `-C`
 * strings become whole numbers for `instance_count` and `timeout_seconds`, booleans for `archive`
 * and `synchronous`, JSON objects for the dict keys; the URI gives `region_name` and
 * `assume_role_arn` unless the config names them. Where MLflow silently does something else,
 * this refuses with the key named (listed in docs/targets/sagemaker.md): an unknown key (MLflow
 * ignores it), a boolean other than true/false (MLflow reads anything but "True" as false), a
 * number or JSON that does not parse (MLflow raises a bare ValueError), a mode that does not fit
 * the operation, a tag value that is not a string (MLflow turns it into its Python text).
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` naming every bad key.
 */
export function parseSageMakerConfig(config: DeploymentConfig, location: SageMakerLocation, operation: ConfigOperation): SageMakerConfig {
  const problems: string[] = [];
  const unknown = Object.keys(config).filter(
    (key) => !KNOWN.includes(key) || (key === 'traffic' && operation !== 'endpoint') || (key === 'mode' && operation === 'endpoint'),
  );
  if (unknown.length > 0) problems.push(`unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  const out: Record<string, unknown> = {
    region_name: location.region ?? DEFAULT_REGION,
    assume_role_arn: location.assumeRoleArn,
    archive: false,
    instance_type: DEFAULT_INSTANCE_TYPE,
    instance_count: 1,
    synchronous: true,
    timeout_seconds: 1200,
    async_inference_config: {},
    serverless_config: {},
    mode: operation === 'create' ? 'create' : 'replace',
  };
  for (const key of STRING_KEYS) {
    const value = config[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') problems.push(`${key} must be a non-empty string`);
    else out[key] = value;
  }
  for (const key of INT_KEYS) {
    const value = config[key];
    if (value === undefined) continue;
    const number = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isInteger(number) || number < 1) problems.push(`${key} must be a whole number of at least 1, got ${JSON.stringify(value)}`);
    else out[key] = number;
  }
  for (const key of BOOL_KEYS) {
    const value = config[key];
    if (value === undefined) continue;
    if (typeof value === 'boolean') out[key] = value;
    else if (typeof value === 'string' && /^(true|false)$/i.test(value)) out[key] = value.toLowerCase() === 'true';
    else problems.push(`${key} must be True or False, got ${JSON.stringify(value)}`);
  }
  for (const key of DICT_KEYS) {
    const value = config[key];
    if (value === undefined) continue;
    let parsed: unknown = value;
    if (typeof value === 'string') {
      try {
        parsed = JSON.parse(value);
      } catch (error) {
        problems.push(`${key} must be a JSON object such as {"key": "value"}: ${(error as Error).message}`);
        continue;
      }
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) problems.push(`${key} must be a JSON object`);
    else if (key === 'deployment_config') {
      const checked = deploymentConfigSchema.safeParse(parsed);
      if (checked.success) out[key] = checked.data;
      else problems.push(`deployment_config is not a SageMaker DeploymentConfig: ${zodProblems(checked.error)}`);
    } else if (key === 'traffic') {
      const bad = Object.entries(parsed).filter(
        ([, weight]) => !Number.isInteger(weight) || (weight as number) < 0 || (weight as number) > 100,
      );
      if (bad.length > 0) problems.push(`traffic weights must be whole numbers from 0 to 100 (${bad.map(([name]) => name).join(', ')})`);
      else out[key] = parsed;
    } else if (key === 'tags') {
      // SageMaker's tag values are strings: a number or an object is refused rather than turned into JSON text.
      const bad = Object.entries(parsed).filter(([, value]) => typeof value !== 'string');
      if (bad.length > 0)
        problems.push(
          `tags values must be strings (${bad.map(([name]) => JSON.stringify(name)).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not)`,
        );
      else out[key] = parsed;
    } else out[key] = parsed;
  }
  const mode = config['mode'];
  if (mode !== undefined && operation === 'delete') problems.push('mode applies to create and update, not to delete');
  else if (mode !== undefined && operation !== 'endpoint') {
    const allowed = operation === 'create' ? ['create'] : ['replace', 'add'];
    if (typeof mode !== 'string' || !allowed.includes(mode))
      problems.push(
        `mode must be ${allowed.join(' or ')} for ${operation === 'create' ? 'a create' : 'an update'}, got ${JSON.stringify(mode)}`,
      );
    else out['mode'] = mode;
  }
  if (problems.length > 0) throw invalid(problems.join('; '));
  return out as unknown as SageMakerConfig;
}

function zodProblems(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length === 0 ? '' : `${issue.path.join('.')}: `}${issue.message}`).join('; ');
}
