import { MlDeployError, type DeploymentConfig } from '@mldeploy/core';
import { z } from 'zod';

/** A Kubernetes resource quantity such as `500m`, `2`, `1.5Gi`, `512Mi`. */
const QUANTITY = /^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** A Kubernetes object name (RFC 1123 subdomain). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** -C values arrive as strings; numbers from the API arrive as numbers. */
const wholeNumber = (key: string, min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value),
    z
      .number({ error: `${key} must be a whole number from ${min} to ${max}` })
      .int({ error: `${key} must be a whole number from ${min} to ${max}` })
      .min(min, { error: `${key} must be a whole number from ${min} to ${max}` })
      .max(max, { error: `${key} must be a whole number from ${min} to ${max}` }),
  );

const quantity = (key: string, example: string) =>
  z.string().regex(QUANTITY, { error: `${key} must be a Kubernetes quantity such as ${example}` });

/** The modes: a KServe InferenceService, or a Deployment + Service running mldeploy's own serving runtime. */
const MODES = ['deployment', 'kserve'] as const;

/** The default serving image: built from the package's Dockerfile (see docs/targets/kubernetes.md). */
export const DEFAULT_IMAGE = 'mldeploy/serving:0.1.0';

/** The config keys of the kubernetes target (`-C key=value`), with their defaults. */
const kubernetesConfigSchema = z
  .object({
    mode: z.enum(MODES, { error: `mode must be one of ${MODES.join(', ')}` }).default('deployment'),
    replicas: wholeNumber('replicas', 1, 1000).default(1),
    cpu: quantity('cpu', '500m or 2').default('1'),
    memory: quantity('memory', '512Mi or 2Gi').default('2Gi'),
    gpu: wholeNumber('gpu', 0, 64).default(0),
    image: z.string().min(1, { error: 'image must not be empty' }).default(DEFAULT_IMAGE),
    timeout: wholeNumber('timeout', 1, 86_400).default(600),
    canary_traffic_percent: wholeNumber('canary_traffic_percent', 0, 100).optional(),
    kserve_deployment_mode: z
      .enum(['Serverless', 'Standard'], { error: 'kserve_deployment_mode must be Serverless or Standard' })
      .optional(),
    registry_secret: z.string().regex(DNS_SUBDOMAIN, { error: 'registry_secret must name a Secret (a lowercase DNS name)' }).optional(),
    service_account: z
      .string()
      .regex(DNS_SUBDOMAIN, { error: 'service_account must name a ServiceAccount (a lowercase DNS name)' })
      .optional(),
    token_secret: z.string().regex(DNS_SUBDOMAIN, { error: 'token_secret must name a Secret (a lowercase DNS name)' }).optional(),
    predict_via: z.enum(['url', 'proxy'], { error: 'predict_via must be url or proxy' }).default('url'),
  })
  .strict();

/** The kubernetes target's settings of one deployment, defaults filled in. */
export type KubernetesConfig = z.infer<typeof kubernetesConfigSchema>;

/**
 * Reads a deployment's config (`-C` pairs or an API object).
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` naming every bad key, and the known ones for an unknown key.
 */
export function parseKubernetesConfig(config: DeploymentConfig = {}): KubernetesConfig {
  const result = kubernetesConfigSchema.safeParse(config);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) =>
    issue.code === 'unrecognized_keys' ? `unknown config key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}` : issue.message,
  );
  throw new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid config for the kubernetes target: ${problems.join('; ')}`, {
    target: 'kubernetes',
    hint: `Known keys: ${Object.keys(kubernetesConfigSchema.shape).join(', ')}. See 'mldeploy help -t kubernetes'.`,
  });
}
