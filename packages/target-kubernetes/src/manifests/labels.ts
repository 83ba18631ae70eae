import { MlDeployError } from '@mldeploy/core';

/** The label every object mldeploy manages carries (the recommended `app.kubernetes.io` label). */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'mldeploy' } as const;

/** The label naming the mldeploy deployment an object belongs to; selectors use it. */
export const DEPLOYMENT_LABEL = 'mldeploy.dev/deployment';

/** Annotations that record what mldeploy deployed, so that `get` and `list` read them back from the cluster. */
export const ANNOTATIONS = {
  modelUri: 'mldeploy.dev/model-uri',
  modelVersion: 'mldeploy.dev/model-version',
  flavor: 'mldeploy.dev/flavor',
  config: 'mldeploy.dev/config',
  /** kserve mode, while a canary runs: the record (the keys above, as JSON) of what served before it, for a rollback to bring back. */
  stable: 'mldeploy.dev/stable',
} as const;

/** A Service name is an RFC 1035 label, the strictest of the names one deployment becomes. */
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Checks that a deployment name can name the Kubernetes objects it becomes (a Deployment, a
 * Service, an InferenceService): lowercase letters, digits and '-', starting with a letter, at
 * most 63 characters.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` saying what Kubernetes allows.
 */
export function checkKubernetesName(name: string): void {
  if (SERVICE_NAME.test(name)) return;
  throw new MlDeployError(
    'INVALID_PARAMETER_VALUE',
    `Deployment name ${JSON.stringify(name)} cannot name a Kubernetes object: use lowercase letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters`,
    { target: 'kubernetes', hint: `For example ${JSON.stringify(suggestName(name))}.` },
  );
}

function suggestName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^-a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return cleaned === '' ? 'model' : cleaned;
}

/** The config recorded in the {@link ANNOTATIONS}.config annotation; `{}` when absent or unreadable (edited by hand). */
export function readRecordedConfig(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The annotations mldeploy records (model, version, flavor, config), and only those. */
export function onlyRecorded(annotations: Record<string, string> | undefined): Record<string, string> {
  const keys: readonly string[] = Object.values(ANNOTATIONS);
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([key]) => keys.includes(key)));
}

/** `annotations` without the ones mldeploy records: they are written anew, and a key the new record lacks must not stay. */
export function withoutRecorded(annotations: Record<string, string> | undefined): Record<string, string> {
  const keys: readonly string[] = Object.values(ANNOTATIONS);
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([key]) => !keys.includes(key)));
}
