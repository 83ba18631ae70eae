import { MlDeployError, runMldeployCli, type DeploymentConfig, type TargetContext } from '@mldeploy/core';
import { parseKubernetesConfig } from '../config/kubernetes-config.js';
import { SERVING_PORT, servingArgs } from '../manifests/serving-deployment.js';

/**
 * Runs, on this machine and in the foreground, the command the serving image runs in a pod:
 * `mldeploy models serve` on the model, on loopback, port `-C port=N` (default 8080, as in the
 * pod). The other config keys are checked as for a deployment (a typo fails here, not later in the cluster).
 */
export async function runLocal(
  name: string,
  modelUri: string,
  flavor: string | undefined,
  config: DeploymentConfig,
  context: TargetContext & { readonly signal?: AbortSignal },
): Promise<void> {
  const { port: rawPort, ...rest } = config;
  const port = rawPort === undefined ? SERVING_PORT : Number(rawPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `port must be a whole number from 1 to 65535, got ${JSON.stringify(rawPort)}`, {
      target: 'kubernetes',
    });
  }
  parseKubernetesConfig(rest);
  const args = servingArgs(modelUri, flavor).map((arg) =>
    arg === '0.0.0.0' ? '127.0.0.1' : arg === String(SERVING_PORT) ? String(port) : arg,
  );
  context.log(`Serving ${name} (${modelUri}) as its pods would, at http://127.0.0.1:${port}; stop with Ctrl-C`);
  await runMldeployCli([...args, '--name', name], context, 'kubernetes');
}
