import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';
import { MlDeployError } from '@mldeploy/core';
import type { KubernetesLocation } from '../target/kubernetes-uri.js';

/** A kubeconfig loaded and pointed at one context and namespace. */
export interface KubeConnection {
  readonly config: KubeConfig;
  readonly context: string;
  readonly namespace: string;
  /** The API server's URL. */
  readonly server: string;
}

/** Where a pod finds its service account (Kubernetes' fixed paths). */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Loads the kubeconfig by the usual rules, from the environment mldeploy hands the plugin (never
 * `process.env`): the files in `KUBECONFIG` (merged, the first one's current context wins), else
 * `~/.kube/config`, else the pod's service account when running in a cluster. Then selects the
 * URI's context (or the current one) and namespace (or the context's, or `default`).
 *
 * @throws MlDeployError `INVALID_STATE` when no configuration is found; `INVALID_PARAMETER_VALUE`
 *   for a context the kubeconfig does not have, listing the ones it has.
 */
export function loadKubeConnection(
  location: KubernetesLocation,
  context: { readonly env: Readonly<Record<string, string | undefined>>; readonly homeDir: string; readonly cwd: string },
  serviceAccountDir = SERVICE_ACCOUNT_DIR,
): KubeConnection {
  const config = new KubeConfig();
  const files = (context.env['KUBECONFIG'] ?? '')
    .split(path.delimiter)
    .filter((file) => file !== '')
    .map((file) => path.resolve(context.cwd, file));
  const home = path.join(context.homeDir, '.kube', 'config');
  let inClusterNamespace: string | undefined;
  if (files.length > 0) {
    const existing = files.filter((file) => existsSync(file));
    if (existing.length === 0) {
      throw new MlDeployError('INVALID_STATE', `KUBECONFIG names no file that exists (${files.join(', ')})`, {
        target: 'kubernetes',
        hint: 'Point KUBECONFIG at your kubeconfig file, or unset it to use ~/.kube/config.',
      });
    }
    mergeKubeconfigFiles(config, existing);
  } else if (existsSync(home)) {
    mergeKubeconfigFiles(config, [home]);
  } else if (context.env['KUBERNETES_SERVICE_HOST'] !== undefined && existsSync(path.join(serviceAccountDir, 'token'))) {
    const host = context.env['KUBERNETES_SERVICE_HOST'];
    const port = context.env['KUBERNETES_SERVICE_PORT'] ?? '443';
    config.loadFromClusterAndUser(
      {
        name: 'in-cluster',
        server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
        caFile: path.join(serviceAccountDir, 'ca.crt'),
        skipTLSVerify: false,
      },
      { name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: path.join(serviceAccountDir, 'token') } } },
    );
    const namespaceFile = path.join(serviceAccountDir, 'namespace');
    if (existsSync(namespaceFile)) inClusterNamespace = readFileSync(namespaceFile, 'utf8').trim();
  } else {
    throw new MlDeployError(
      'INVALID_STATE',
      'No Kubernetes configuration found: KUBECONFIG is not set, ~/.kube/config does not exist, and this is not a pod',
      {
        target: 'kubernetes',
        hint: 'Set KUBECONFIG to your kubeconfig file (or create ~/.kube/config), e.g. with your cloud CLI.',
      },
    );
  }
  const name = location.context ?? config.getCurrentContext();
  const contextObject = config.getContextObject(name);
  if (contextObject === null) {
    const known = config.getContexts().map((c) => c.name);
    throw new MlDeployError(
      'INVALID_PARAMETER_VALUE',
      name === '' || name === undefined ? 'The kubeconfig has no current context' : `The kubeconfig has no context ${JSON.stringify(name)}`,
      {
        target: 'kubernetes',
        hint:
          known.length === 0
            ? 'The kubeconfig has no contexts at all.'
            : `Its contexts: ${known.join(', ')}. Name one as kubernetes:/<context>.`,
      },
    );
  }
  config.setCurrentContext(name);
  const cluster = config.getCurrentCluster();
  return {
    config,
    context: name,
    namespace: location.namespace ?? contextObject.namespace ?? inClusterNamespace ?? 'default',
    server: cluster?.server ?? '(unknown server)',
  };
}

/**
 * Merges kubeconfig files as kubectl does: the first definition of a cluster, user or context
 * name wins, and the current context is the first file's that sets one. (client-node's
 * mergeConfig throws on a name defined twice, which is common across files.)
 *
 * @throws MlDeployError `INVALID_STATE` naming a file that cannot be read or parsed.
 */
function mergeKubeconfigFiles(config: KubeConfig, files: readonly string[]): void {
  const merged = { clusters: [] as Cluster[], users: [] as User[], contexts: [] as Context[], currentContext: '' };
  for (const file of files) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(file);
    } catch (error) {
      throw new MlDeployError('INVALID_STATE', `Cannot read the kubeconfig ${file}: ${(error as Error).message}`, {
        target: 'kubernetes',
        cause: error,
      });
    }
    const add = <T extends { name: string }>(into: T[], from: readonly T[]): void => {
      for (const item of from) if (!into.some((known) => known.name === item.name)) into.push(item);
    };
    add(merged.clusters, one.getClusters());
    add(merged.users, one.getUsers());
    add(merged.contexts, one.getContexts());
    if (merged.currentContext === '') merged.currentContext = one.getCurrentContext() ?? '';
  }
  config.loadFromOptions(merged);
}
