import { z } from 'zod';
import { MlDeployError, checkTrafficSplit } from '@mldeploy/core';
import type { EndpointConfig } from './state-store.js';

/** A value as a message quotes it: a string in single quotes (as typed after `-C key=`), the rest as JSON. */
function shown(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
}

/**
 * A number from `-C` (a string) or the API (a number). The raw value is kept for the message:
 * `z.coerce` would turn 'abc' into NaN and report "expected number, received NaN".
 */
const numberSetting = (key: string, { min, max, whole, above }: { min: number; max: number; whole: boolean; above?: boolean }) => {
  const wanted = whole
    ? `a whole number from ${min} to ${max}`
    : above === true
      ? `a number above ${min} and at most ${max}`
      : `a number from ${min} to ${max}`;
  return z.unknown().transform((raw, ctx) => {
    const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    const fits =
      typeof n === 'number' && Number.isFinite(n) && (!whole || Number.isInteger(n)) && (above === true ? n > min : n >= min) && n <= max;
    if (!fits) {
      ctx.addIssue({ code: 'custom', message: `${key} must be ${wanted}, got ${shown(raw)}` });
      return z.NEVER;
    }
    return n;
  });
};

/** A non-empty string setting. */
const textSetting = (key: string, what: string) =>
  z.unknown().transform((raw, ctx) => {
    if (typeof raw !== 'string' || raw === '') {
      ctx.addIssue({ code: 'custom', message: `${key} must be ${what}, got ${shown(raw)}` });
      return z.NEVER;
    }
    return raw;
  });

/** An object that names the keys it does not know and the ones it does. */
const settingsObject = <T extends z.core.$ZodLooseShape>(what: string, shape: T) =>
  z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `${what} has no key ${issue.keys.map((k) => `'${k}'`).join(', ')}; its keys are ${Object.keys(shape).join(', ')}`
        : undefined,
  });

/** Settings of a local deployment, from `-C` (strings) or the API (JSON values). */
const deploymentSettings = settingsObject('A local deployment', {
  /** Worker processes serving the deployment. */
  replicas: numberSetting('replicas', { min: 1, max: 32, whole: true }).default(1),
  /** Seconds a prediction may take before it gets 504. */
  timeout: numberSetting('timeout', { min: 0, max: 86_400, whole: false, above: true }).default(60),
  /** Largest request body, in bytes. */
  max_body_size: numberSetting('max_body_size', { min: 1024, max: 2 ** 31, whole: true }).default(100 * 1024 * 1024),
  /**
   * The deployment's own port, where every replica accepts connections itself (SO_REUSEPORT):
   * its URL. 0 at create picks a free one, kept from then on.
   */
  port: numberSetting('port', { min: 0, max: 65_535, whole: true }).default(0),
  /**
   * MLflow's CLI for a model served by MLflow's own server: the client sends the caller's
   * `MLDEPLOY_MLFLOW`, so the control plane's (older) environment does not decide it.
   */
  mlflow_command: textSetting('mlflow_command', 'the path of an mlflow command').optional(),
});

/** Resolved deployment settings. */
export type DeploymentSettings = Readonly<z.infer<typeof deploymentSettings>>;

/** The issues as one line. The messages name their key already; zod's own ones get the path. */
function describe(error: z.ZodError): string {
  return error.issues
    .map((i) =>
      i.code === 'custom' || i.code === 'unrecognized_keys' || i.path.length === 0 ? i.message : `${i.path.join('.')}: ${i.message}`,
    )
    .join('; ');
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

/**
 * A JSON object setting: `-C` gives it as a string to parse, the API as an object. A string that
 * does not parse is reported as such, with an example, not as "expected record, received string".
 */
const jsonObjectSetting = <T extends z.ZodType<unknown, Record<string, unknown>>>(key: string, example: string, schema: T) =>
  z
    .unknown()
    .transform((raw, ctx): Record<string, unknown> => {
      let value: unknown = raw;
      if (typeof raw === 'string') {
        try {
          value = JSON.parse(raw);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: `${key} must be a JSON object such as ${example}: ${(error as Error).message}` });
          return z.NEVER;
        }
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        ctx.addIssue({ code: 'custom', message: `${key} must be a JSON object such as ${example}, got ${shown(raw)}` });
        return z.NEVER;
      }
      return value as Record<string, unknown>;
    })
    .pipe(schema);

const endpointSettings = settingsObject('A local endpoint', {
  traffic: jsonObjectSetting(
    'traffic',
    '{"a":90,"b":10}',
    z.record(
      z.string().min(1, { error: 'traffic names a deployment with an empty name' }),
      numberSetting('each traffic weight', { min: 0, max: 100, whole: true }),
    ),
  ),
  sticky_header: textSetting('sticky_header', 'a header name such as x-user-id').optional(),
  shadow: jsonObjectSetting(
    'shadow',
    '{"deployment":"c","percent":20}',
    settingsObject('shadow', {
      deployment: textSetting('shadow.deployment', 'a deployment name'),
      percent: numberSetting('shadow.percent', { min: 0, max: 100, whole: false }),
    }),
  ).optional(),
});

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
