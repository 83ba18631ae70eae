import path from 'node:path';
import { MlDeployError, runInForeground, type DeploymentConfig, type TargetContext } from '@mldeploy/core';
import { z } from 'zod';
import { TARGET } from './remote-config.js';

const runLocalConfigSchema = z
  .object({
    port: z.coerce.number().int().min(1).max(65535).default(5000),
    host: z.enum(['127.0.0.1', 'localhost', '::1']).default('127.0.0.1'),
    workers: z.coerce.number().int().min(1).max(64).default(1),
    mlflow: z.string().min(1).optional(),
  })
  .strict();

/**
 * Serves a model on this machine with MLflow's own scoring server (`mlflow models serve
 * --env-manager local`) in the foreground: the kind of server the remote target manages. It
 * returns when the server exits, or stops the server when `context.signal` aborts.
 *
 * Only loopback addresses are accepted: MLflow's scoring server has no authentication.
 */
export async function runLocal(
  name: string,
  modelUri: string,
  _flavor: string | undefined,
  config: DeploymentConfig,
  context: TargetContext & { readonly signal?: AbortSignal },
): Promise<void> {
  const parsed = runLocalConfigSchema.safeParse(config);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid run-local config for the remote target: ${details}`, {
      target: TARGET,
      hint: "Run 'mldeploy help -t remote' for the keys run-local accepts.",
    });
  }
  const { port, host, workers } = parsed.data;
  const mlflow = parsed.data.mlflow ?? context.env['MLDEPLOY_MLFLOW'] ?? 'mlflow';
  const args = ['models', 'serve', '-m', modelUri, '-p', String(port), '-h', host, '-w', String(workers), '--env-manager', 'local'];
  context.log(
    `Serving ${name} (${modelUri}) with MLflow's scoring server at http://${host.includes(':') ? `[${host}]` : host}:${port}; stop with Ctrl-C`,
  );

  // MLflow starts `uvicorn` by name: a venv's mlflow needs that venv's bin folder on PATH.
  const env = { ...context.env };
  if (path.isAbsolute(mlflow)) env['PATH'] = [path.dirname(mlflow), env['PATH']].filter(Boolean).join(path.delimiter);
  try {
    // Stopping means stopping MLflow's uvicorn child too: the whole process group is signalled.
    const outcome = await runInForeground(mlflow, args, {
      cwd: context.cwd,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
      signal: context.signal,
    });
    if (!outcome.stopped && outcome.code !== 0) {
      throw new MlDeployError(
        'INTERNAL_ERROR',
        `mlflow models serve exited with ${outcome.code === null ? `signal ${outcome.signal}` : `code ${outcome.code}`}`,
        {
          target: TARGET,
          hint: 'Its own output above says why.',
        },
      );
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `MLflow's CLI was not found (tried ${JSON.stringify(mlflow)})`, {
        target: TARGET,
        cause: error,
        hint: 'Install it with `pip install mlflow`, or pass -C mlflow=/path/to/mlflow.',
      });
    }
    throw error;
  }
}
