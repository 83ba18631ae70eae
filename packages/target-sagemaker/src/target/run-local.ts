import { MlDeployError, runMldeployCli, type DeploymentConfig, type TargetContext } from '@mldeploy/core';

/**
 * `mldeploy run-local -t sagemaker`: MLflow's `run_local` for SageMaker runs the serving image
 * with the model mounted; with no container runtime required, this runs on this machine the
 * command the image runs when SageMaker starts it (`mldeploy models serve` on the model), on
 * loopback, port `-C port=N` (MLflow's default 5000).
 */
export async function runLocal(
  name: string,
  modelUri: string,
  flavor: string | undefined,
  config: DeploymentConfig,
  context: TargetContext & { readonly signal?: AbortSignal },
): Promise<void> {
  const { port: rawPort = '5000', ...rest } = config;
  const port = Number(rawPort);
  const problems: string[] = [];
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    problems.push(`port must be a whole number from 1 to 65535, got ${JSON.stringify(rawPort)}`);
  const unknown = Object.keys(rest);
  if (unknown.length > 0) problems.push(`run-local takes only "port" (got ${unknown.map((k) => JSON.stringify(k)).join(', ')})`);
  if (problems.length > 0) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid config for run-local on the sagemaker target: ${problems.join('; ')}`, {
      target: 'sagemaker',
      hint: 'The model is served by this machine\'s mldeploy as the serving image would serve it; an "image" cannot be run here.',
    });
  }
  const args = ['models', 'serve', '--model-uri', modelUri, '--host', '127.0.0.1', '--port', String(port), '--name', name];
  if (flavor !== undefined) args.push('--flavor', flavor);
  context.log(`Serving ${name} (${modelUri}) as the SageMaker container would, at http://127.0.0.1:${port}/invocations; stop with Ctrl-C`);
  await runMldeployCli(args, context, 'sagemaker');
}
