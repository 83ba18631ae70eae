import { MlDeployError, httpRequest, retry, type HttpResponse } from '@mldeploy/core';

/** The variable that names the hosts, besides the tracking and registry servers, model files may come from. */
const ALLOWED_MODEL_HOSTS_ENV = 'MLDEPLOY_ALLOWED_MODEL_HOSTS';

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
  /** Hosts (`host` for any port, or `host:port`) model files may be fetched from besides the tracking and registry servers. */
  readonly allowedHosts: readonly string[];
}

const HOST_ENTRY = /^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/;

/** Parses `MLDEPLOY_ALLOWED_MODEL_HOSTS`: comma-separated `host` or `host:port` entries. */
function parseAllowedHosts(text: string | undefined): string[] {
  const entries = (text ?? '')
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry !== '');
  for (const entry of entries) {
    if (!HOST_ENTRY.test(entry)) {
      throw new MlDeployError(
        'INVALID_PARAMETER_VALUE',
        `${ALLOWED_MODEL_HOSTS_ENV} entry ${JSON.stringify(entry)} is not a host or host:port`,
        {
          hint: `List hosts without a scheme or path, e.g. ${ALLOWED_MODEL_HOSTS_ENV}=models.example.com,10.0.0.5:8080`,
        },
      );
    }
  }
  return entries;
}

/**
 * Reads MLflow's own environment variables (and `MLDEPLOY_ALLOWED_MODEL_HOSTS`) into a {@link MlflowConnection}.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` for an allowed-hosts entry that is not a host.
 */
export function mlflowConnectionFromEnv(env: Readonly<Record<string, string | undefined>>): MlflowConnection {
  const token = env['MLFLOW_TRACKING_TOKEN'];
  const user = env['MLFLOW_TRACKING_USERNAME'];
  const password = env['MLFLOW_TRACKING_PASSWORD'];
  const authorization =
    token !== undefined && token !== ''
      ? `Bearer ${token}`
      : user !== undefined && password !== undefined
        ? `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
        : undefined;
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
    allowedHosts: Object.freeze(parseAllowedHosts(env[ALLOWED_MODEL_HOSTS_ENV])),
  });
}

function originOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * The Authorization header for a request to `url`: only when `url` is on the tracking or the
 * registry server the user configured. A model URI can name any host (`http://…`, an artifact
 * location a registry answers with); the user's MLflow credentials must never travel there.
 */
export function authorizationFor(connection: MlflowConnection, url: string): Record<string, string> {
  if (connection.authorization === undefined) return {};
  const target = originOf(url);
  const trusted = [originOf(connection.trackingUri), originOf(connection.registryUri)];
  return target !== undefined && trusted.includes(target) ? { authorization: connection.authorization } : {};
}

function hostOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Refuses to fetch model files from a host the user did not name: only the configured tracking
 * and registry servers, and the hosts of `MLDEPLOY_ALLOWED_MODEL_HOSTS`, serve models. A model
 * URI, or an artifact location a registry answers with, can name any host; without this check it
 * could make mldeploy read from a service inside the network, or serve a model planted elsewhere.
 *
 * @throws MlDeployError `PERMISSION_DENIED` naming the host and how to allow it.
 */
export function checkModelHost(connection: MlflowConnection, url: string): void {
  const parsed = new URL(url);
  const host = parsed.host.toLowerCase();
  const hostname = parsed.hostname.toLowerCase();
  const configured = [hostOf(connection.trackingUri), hostOf(connection.registryUri)];
  if (configured.includes(host) || connection.allowedHosts.includes(host) || connection.allowedHosts.includes(hostname)) return;
  throw new MlDeployError(
    'PERMISSION_DENIED',
    `Model files are not fetched from ${host}: it is neither the MLflow tracking nor the registry server (MLFLOW_TRACKING_URI, MLFLOW_REGISTRY_URI)`,
    { hint: `If you trust ${host}, allow it: ${ALLOWED_MODEL_HOSTS_ENV}=${host} (comma-separated hosts or host:port).` },
  );
}

/**
 * One HTTP request to an MLflow server with MLflow's auth headers (for the configured servers
 * only, {@link authorizationFor}), retried with jittered
 * exponential backoff while it fails transiently ({@link withRetries}).
 */
export async function mlflowRequest(
  connection: MlflowConnection,
  url: string,
  init: { method?: 'GET' | 'POST'; body?: unknown } = {},
): Promise<HttpResponse> {
  const headers: Record<string, string> = { ...authorizationFor(connection, url) };
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

/**
 * Runs `work` again while it fails transiently (unreachable, timed out, 429, 5xx), with jittered
 * exponential backoff from `connection.backoffMs`, honouring a server's Retry-After.
 */
export function withRetries<T>(connection: MlflowConnection, work: () => Promise<T>): Promise<T> {
  return retry(work, { retries: connection.maxRetries, baseDelayMs: connection.backoffMs });
}

/** Joins a server base URL and an API path. */
export function apiUrl(base: string, apiPath: string, query?: Record<string, string>): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${apiPath}`;
  for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value);
  return url.toString();
}
