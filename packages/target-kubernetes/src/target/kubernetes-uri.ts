import { MlDeployError, parseTargetUri } from '@mldeploy/core';

/** Where a `kubernetes` target URI points: a kubeconfig context and a namespace, each optional. */
export interface KubernetesLocation {
  /** The kubeconfig context; undefined: the current context. */
  readonly context: string | undefined;
  /** The namespace; undefined: the context's namespace, else `default`. */
  readonly namespace: string | undefined;
}

/** A namespace is a DNS label (RFC 1123). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Parses `kubernetes`, `kubernetes:/<context>` and `kubernetes:/<context>/<namespace>`. Contexts
 * may hold characters that are not allowed in a URI path segment (EKS contexts are ARNs with a
 * `/`): write them percent-encoded (`%2F`).
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` naming the part that is wrong.
 */
export function parseKubernetesUri(uri: string): KubernetesLocation {
  const { suffix } = parseTargetUri(uri);
  if (suffix === '' || suffix === '/') return { context: undefined, namespace: undefined };
  const invalid = (why: string): MlDeployError =>
    new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid Kubernetes target URI ${JSON.stringify(uri)}: ${why}`, {
      target: 'kubernetes',
      hint: "Use 'kubernetes', 'kubernetes:/<context>' or 'kubernetes:/<context>/<namespace>' (a context with '/' written as %2F).",
    });
  if (!suffix.startsWith('/')) throw invalid("the part after 'kubernetes:' must start with '/'");
  const parts = suffix.slice(1).split('/');
  if (parts.length > 2) throw invalid('expected at most a context and a namespace');
  const decoded = parts.map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw invalid(`${JSON.stringify(part)} is not valid percent-encoding`);
    }
  });
  const [context, namespace] = decoded;
  if (context === '') throw invalid('the context is empty');
  if (namespace !== undefined && !DNS_LABEL.test(namespace)) {
    throw invalid(
      `namespace ${JSON.stringify(namespace)} is not a valid Kubernetes namespace (lowercase letters, digits and '-', at most 63)`,
    );
  }
  return { context, namespace };
}
