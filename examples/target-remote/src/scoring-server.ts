import {
  MlDeployError,
  PredictionsResponse,
  encodeScoringRequest,
  httpRequest,
  isMlDeployError,
  type PredictionInput,
} from '@mldeploy/core';
import { TARGET } from './remote-config.js';

/**
 * Checks that `url` is a live scoring server: `GET /ping` must answer 200. A server that is
 * reachable but answers otherwise does not speak MLflow's scoring protocol.
 *
 * @throws MlDeployError `TEMPORARILY_UNAVAILABLE` or `DEADLINE_EXCEEDED` when it cannot be
 * reached, `INVALID_PARAMETER_VALUE` when it answers /ping with an error.
 */
export async function ping(url: string, timeoutSeconds: number): Promise<void> {
  try {
    await httpRequest(`${url}/ping`, { timeoutMs: timeoutSeconds * 1000, target: TARGET });
  } catch (error) {
    if (!isMlDeployError(error)) throw error;
    const status = error.details?.['status'];
    if (typeof status === 'number') {
      throw new MlDeployError(
        'INVALID_PARAMETER_VALUE',
        `The server at ${url} answered GET /ping with HTTP ${status}: it does not look like an MLflow scoring server`,
        {
          target: TARGET,
          cause: error,
          hint: 'Point -m at the base URL of `mlflow models serve` or another server that speaks MLflow’s scoring protocol.',
        },
      );
    }
    throw new MlDeployError(error.code, `The server at ${url} did not answer GET /ping: ${error.message}`, {
      target: TARGET,
      cause: error,
      hint: error.hint,
    });
  }
}

/** Whether `url` answers /ping now, and the MLflow version it reports when it does. */
export async function probe(url: string, timeoutSeconds: number): Promise<{ alive: boolean; version?: string }> {
  try {
    await ping(url, timeoutSeconds);
  } catch {
    return { alive: false };
  }
  try {
    const { text } = await httpRequest(`${url}/version`, { timeoutMs: timeoutSeconds * 1000, target: TARGET });
    // MLflow answers /version with a bare, unquoted version string.
    return { alive: true, version: text.trim().replace(/^"|"$/g, '') };
  } catch {
    return { alive: true };
  }
}

/** Sends one prediction to the server's `/invocations`. */
export async function invoke(url: string, inputs: PredictionInput, timeoutSeconds: number): Promise<PredictionsResponse> {
  const { contentType, body } = encodeScoringRequest(inputs);
  const response = await httpRequest(`${url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
    timeoutMs: timeoutSeconds * 1000,
    target: TARGET,
  });
  return PredictionsResponse.fromJSON(response.text);
}
