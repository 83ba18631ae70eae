import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { MlDeployError, runInForeground, type DeploymentConfig, type TargetContext } from '@mldeploy/core';
import { parseKubernetesConfig } from '../config/kubernetes-config.js';
import { SERVING_PORT, servingArgs } from '../manifests/serving-deployment.js';

/**
 * The mldeploy CLI to run: the one installed beside this plugin (the image runs the same), else
 * `mldeploy` from PATH.
 */
function mldeployCommand(): { command: string; prefix: string[] } {
  try {
    const manifest = createRequire(import.meta.url).resolve('mldeploy/package.json');
    const bin = path.join(path.dirname(manifest), 'bin', 'mldeploy.js');
    if (existsSync(bin)) return { command: process.execPath, prefix: [bin] };
  } catch {
    // Not installed beside the plugin.
  }
  return { command: 'mldeploy', prefix: [] };
}

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
  const { command, prefix } = mldeployCommand();
  context.log(`Serving ${name} (${modelUri}) as its pods would, at http://127.0.0.1:${port}; stop with Ctrl-C`);
  try {
    const outcome = await runInForeground(command, [...prefix, ...args, '--name', name], {
      cwd: context.cwd,
      env: { ...context.env },
      stdio: ['ignore', 'inherit', 'inherit'],
      signal: context.signal,
    });
    if (!outcome.stopped && outcome.code !== 0) {
      throw new MlDeployError(
        'INTERNAL_ERROR',
        `mldeploy models serve exited with ${outcome.code === null ? `signal ${outcome.signal}` : `code ${outcome.code}`}`,
        {
          target: 'kubernetes',
          hint: 'Its own output above says why.',
        },
      );
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', 'The mldeploy CLI was not found beside the plugin or on PATH', {
        target: 'kubernetes',
        cause: error,
      });
    }
    throw error;
  }
}
