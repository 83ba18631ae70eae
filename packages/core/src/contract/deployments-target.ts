import { MlDeployError } from '../errors/index.js';
import { parseTargetUri } from './target-uri.js';

/** The environment variable naming the default deployments target, as in MLflow. */
export const DEPLOYMENTS_TARGET_ENV = 'MLFLOW_DEPLOYMENTS_TARGET';

let deploymentsTarget: string | undefined;

/**
 * Sets the default target for {@link getDeployClient} in this process.
 *
 * Unlike MLflow, which accepts only `"databricks"` or a URI with a host, any valid target URI is
 * accepted (`local`, `sagemaker:/us-east-1`, `http://localhost:5000`).
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` when `target` is not a valid target URI.
 */
export function setDeploymentsTarget(target: string): void {
  try {
    parseTargetUri(target);
  } catch (error) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `The target provided is not a valid uri: ${JSON.stringify(target)}`, {
      cause: error,
      hint: "A target is a plugin name such as 'local', optionally followed by ':/suffix'.",
    });
  }
  deploymentsTarget = target.trim();
}

/** Forgets the target set with {@link setDeploymentsTarget}; for tests and long-lived hosts. */
export function resetDeploymentsTarget(): void {
  deploymentsTarget = undefined;
}

/**
 * The default target: the one set with {@link setDeploymentsTarget}, else
 * `MLFLOW_DEPLOYMENTS_TARGET` from `env` (validated, unlike MLflow), else `fallback`.
 *
 * @param env - the environment to read; the process's by default.
 * @param fallback - the target when none is set (the `mldeploy` package's is `local`).
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` when no target is set and there is no
 * fallback, saying how to set one.
 */
export function getDeploymentsTarget(env: Readonly<Record<string, string | undefined>> = process.env, fallback?: string): string {
  if (deploymentsTarget !== undefined) return deploymentsTarget;
  const fromEnv = env[DEPLOYMENTS_TARGET_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    parseTargetUri(fromEnv);
    return fromEnv.trim();
  }
  if (fallback !== undefined) return fallback;
  throw new MlDeployError('INVALID_PARAMETER_VALUE', 'No deployments target has been set.', {
    hint: `Pass a target URI (for example getDeployClient('remote') or '-t remote' on the CLI), call setDeploymentsTarget(), or set the environment variable ${DEPLOYMENTS_TARGET_ENV}.`,
  });
}
