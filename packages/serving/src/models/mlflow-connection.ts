import { MlDeployError } from '@mldeploy/core';
import { httpRequest, type HttpResponse } from '@mldeploy/core';

/** Where and how to reach an MLflow tracking server and model registry. */
export interface MlflowConnection {
  /** `MLFLOW_TRACKING_URI`; an http(s) URL for anything remote. */
  readonly trackingUri: string | undefined;
  /** `MLFLOW_REGISTRY_URI`, defaulting to the tracking URI. */
  readonly registryUri: string | undefined;
  /** The Authorization header value, from `MLFLOW_TRACKING_TOKEN` or `MLFLOW_TRACKING_USERNAME`/`PASSWORD`. Never logged. */
  readonly authorization: string | undefined;
  /** Milliseconds a single request may take. */
  readonly timeoutMs: number;
  /** Retries of a request that failed transiently (connection refused, 429, 5xx, timeouts). */
  readonly maxRetries: number;
  /** Milliseconds before the first retry; doubles each time. */
  readonly backoffMs: number;
}

/** Reads MLflow's own environment variables into a {@link MlflowConnection}. */
export function mlflowConnectionFromEnv(env: Readonly<Record<string, string | undefined>>): MlflowConnection {
  const token = env['MLFLOW_TRACKING_TOKEN'];
  const user = env['MLFLOW_TRACKING_USERNAME'];
  const password = env['MLFLOW_TRACKING_PASSWORD'];
  const authorization =
    token !== undefined && token !== '' ? `Bearer ${token}` : user !== undefined && password !== undefined ? `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` : undefined;
  const trackingUri = env['MLFLOW_TRACKING_URI'] === '' ? undefined : env['MLFLOW_TRACKING_URI'];
  const seconds = Number(env['MLFLOW_HTTP_REQUEST_TIMEOUT'] ?? 120);
  const retries = Number(env['MLFLOW_HTTP_REQUEST_MAX_RETRIES'] ?? 5);
  return Object.freeze({
    trackingUri,
    registryUri: env['MLFLOW_REGISTRY_URI'] === '' || env['MLFLOW_REGISTRY_URI'] === undefined ? trackingUri : env['MLFLOW_REGISTRY_URI'],
    authorization,
    timeoutMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 120_000,
    maxRetries: Number.isInteger(retries) && retries >= 0 ? Math.min(retries, 10) : 5,
    backoffMs: 500,
  });
}

const TRANSIENT = new Set(['TEMPORARILY_UNAVAILABLE', 'DEADLINE_EXCEEDED', 'REQUEST_LIMIT_EXCEEDED']);

/** Whether an error is worth retrying: the server may answer next time. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof MlDeployError)) return false;
  const status = error.details?.['status'];
  return TRANSIENT.has(error.code) || (typeof status === 'number' && (status === 429 || status >= 500));
}

/**
 * One HTTP request to an MLflow server with MLflow's auth headers, retried with exponential
 * backoff while it fails transiently.
 */
export async function mlflowRequest(
  connection: MlflowConnection,
  url: string,
  init: { method?: 'GET' | 'POST'; body?: unknown } = {},
): Promise<HttpResponse> {
  const headers: Record<string, string> = {};
  if (connection.authorization !== undefined) headers['authorization'] = connection.authorization;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  return withRetries(connection, () =>
    httpRequest(url, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      timeoutMs: connection.timeoutMs,
    }),
  );
}

/** Runs `work` again, with exponential backoff, while it fails transiently ({@link isTransient}). */
export async function withRetries<T>(connection: MlflowConnection, work: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= connection.maxRetries || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, connection.backoffMs * 2 ** attempt));
    }
  }
}

/** Joins a server base URL and an API path. */
export function apiUrl(base: string, apiPath: string, query?: Record<string, string>): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${apiPath}`;
  for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value);
  return url.toString();
}
