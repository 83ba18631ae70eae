import { z } from 'zod';
import { MlDeployError, checkTrafficSplit } from '@mldeploy/core';
import type { EndpointConfig } from './state-store.js';

/** Settings of a local deployment, from `-C` (strings) or the API (JSON values). */
const deploymentSettings = z
  .object({
    /** Worker processes serving the deployment. */
    replicas: z.coerce.number().int().min(1).max(32).default(1),
    /** Seconds a prediction may take before it gets 504. */
    timeout: z.coerce.number().positive().max(86_400).default(60),
    /** Largest request body, in bytes. */
    max_body_size: z.coerce
      .number()
      .int()
      .min(1024)
      .max(2 ** 31)
      .default(100 * 1024 * 1024),
    /**
     * The deployment's own port, where every replica accepts connections itself (SO_REUSEPORT):
     * its URL. 0 at create picks a free one, kept from then on.
     */
    port: z.coerce.number().int().min(0).max(65_535).default(0),
    /**
     * MLflow's CLI for a model served by MLflow's own server: the client sends the caller's
     * `MLDEPLOY_MLFLOW`, so the control plane's (older) environment does not decide it.
     */
    mlflow_command: z.string().min(1).optional(),
  })
  .strict();

/** Resolved deployment settings. */
export type DeploymentSettings = Readonly<z.infer<typeof deploymentSettings>>;

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
}

/** Parses deployment settings over `base` (the current ones, on update). */
export function parseDeploymentSettings(
  config: Readonly<Record<string, unknown>> | undefined,
  base?: Readonly<Record<string, unknown>>,
): DeploymentSettings {
  const parsed = deploymentSettings.safeParse({ ...base, ...config });
  if (!parsed.success) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid config for the local target: ${describe(parsed.error)}`, {
      target: 'local',
      hint: "Run 'mldeploy help -t local' for the keys it accepts (replicas, timeout, max_body_size, port, mlflow_command).",
    });
  }
  return Object.freeze(parsed.data);
}

const jsonish = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }, schema);

const endpointSettings = z
  .object({
    traffic: jsonish(z.record(z.string().min(1), z.coerce.number().int().min(0).max(100))),
    sticky_header: z.string().min(1).optional(),
    shadow: jsonish(z.object({ deployment: z.string().min(1), percent: z.coerce.number().min(0).max(100) }).strict()).optional(),
  })
  .strict();

/**
 * Parses endpoint settings: `traffic` (deployment → percentage, summing to 100), optional
 * `sticky_header` and `shadow` (`{"deployment", "percent"}`). On update, keys not given keep
 * their current values; `shadow=none` removes the shadow.
 */
export function parseEndpointSettings(config: Readonly<Record<string, unknown>> | undefined, base?: EndpointConfig): EndpointConfig {
  const raw: Record<string, unknown> = {
    ...(base === undefined
      ? {}
      : {
          traffic: base.traffic,
          ...(base.stickyHeader === null ? {} : { sticky_header: base.stickyHeader }),
          ...(base.shadow === null ? {} : { shadow: base.shadow }),
        }),
    ...config,
  };
  if (raw['shadow'] === 'none' || raw['shadow'] === null) delete raw['shadow'];
  if (raw['sticky_header'] === 'none' || raw['sticky_header'] === null) delete raw['sticky_header'];
  if (raw['traffic'] === undefined) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', 'An endpoint needs a traffic split', {
      target: 'local',
      hint: `Pass -C traffic='{"a": 90, "b": 10}' (percentages summing to 100).`,
    });
  }
  const parsed = endpointSettings.safeParse(raw);
  if (!parsed.success)
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid endpoint config for the local target: ${describe(parsed.error)}`, {
      target: 'local',
    });
  const traffic = parsed.data.traffic;
  checkTrafficSplit(traffic, 'local');
  return { traffic, stickyHeader: parsed.data.sticky_header?.toLowerCase() ?? null, shadow: parsed.data.shadow ?? null };
}
