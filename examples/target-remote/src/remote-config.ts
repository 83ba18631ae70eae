import { MlDeployError, checkTrafficSplit, type DeploymentConfig } from '@mldeploy/core';
import { z } from 'zod';

/** The target name this plugin provides. */
export const TARGET = 'remote';

/** Deployment settings, as `-C key=value` gives them (strings) or the API does (numbers). */
const seconds = (fallback: number) => z.coerce.number().positive().max(3600).default(fallback);

const deploymentConfigSchema = z
  .object({
    /** Seconds a prediction may take. */
    timeout: seconds(60),
    /** Seconds the server has to answer /ping at create, update and get. */
    ping_timeout: seconds(5),
  })
  .strict();

/** Resolved deployment settings. */
export type RemoteDeploymentConfig = Readonly<z.infer<typeof deploymentConfigSchema>>;

function invalid(what: string, error: z.ZodError): MlDeployError {
  const details = error.issues.map((issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`).join('; ');
  return new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid ${what} for the remote target: ${details}`, {
    target: TARGET,
    hint: "Run 'mldeploy help -t remote' for the config keys this target accepts.",
  });
}

/** Parses deployment config, merged over `base` (the current settings on update). */
export function parseDeploymentConfig(config: DeploymentConfig | undefined, base?: RemoteDeploymentConfig): RemoteDeploymentConfig {
  const parsed = deploymentConfigSchema.safeParse({ ...base, ...config });
  if (!parsed.success) throw invalid('config', parsed.error);
  return Object.freeze(parsed.data);
}

const weight = z.coerce.number().int().min(0).max(100);
const trafficSchema = z
  .record(z.string().min(1), weight)
  .refine((t) => Object.keys(t).length > 0, { error: 'needs at least one deployment' });

/** Endpoint settings: `traffic`, deployment name → percentage, summing to 100. */
export function parseEndpointConfig(config: DeploymentConfig | undefined): { readonly traffic: Readonly<Record<string, number>> } {
  const keys = Object.keys(config ?? {});
  const unknown = keys.filter((k) => k !== 'traffic');
  if (unknown.length > 0) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `Unknown endpoint config keys for the remote target: ${unknown.join(', ')}`, {
      target: TARGET,
      hint: `Set the split with -C traffic='{"<deployment>": 100}'.`,
    });
  }
  let traffic: unknown = config?.['traffic'];
  if (traffic === undefined) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', 'An endpoint of the remote target needs a traffic split', {
      target: TARGET,
      hint: `Pass -C traffic='{"a": 90, "b": 10}' (percentages summing to 100).`,
    });
  }
  if (typeof traffic === 'string') {
    const text = traffic;
    try {
      traffic = JSON.parse(text);
    } catch {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', `The traffic split is not JSON: ${text}`, {
        target: TARGET,
        hint: `Pass -C traffic='{"a": 90, "b": 10}'.`,
      });
    }
  }
  const parsed = trafficSchema.safeParse(traffic);
  if (!parsed.success) throw invalid('traffic split', parsed.error);
  checkTrafficSplit(parsed.data, TARGET);
  return { traffic: Object.freeze({ ...parsed.data }) };
}

/** The model URI of a remote deployment is its server's base URL; returns it normalised. */
export function parseServerUrl(modelUri: string): string {
  let url: URL;
  try {
    url = new URL(modelUri);
  } catch {
    url = new URL('invalid:');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new MlDeployError(
      'INVALID_PARAMETER_VALUE',
      `The remote target's model URI must be the http(s) URL of a running scoring server, got ${JSON.stringify(modelUri)}`,
      {
        target: TARGET,
        hint: 'Start one with `mlflow models serve -m <model> -p 5001`, then pass -m http://127.0.0.1:5001.',
      },
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', 'The server URL must not contain credentials: they would be stored in plain text', {
      target: TARGET,
    });
  }
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}
