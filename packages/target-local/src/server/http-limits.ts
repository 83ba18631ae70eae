import type { ServerOptions } from 'node:http';
import { z } from 'zod';
import { MlDeployError } from '@mldeploy/core';

/** Bounds of the control plane's HTTP port, gateway and API alike: how long and how many clients may hold it. */
export interface HttpLimits {
  /** Milliseconds a client has to send a request's headers (a slow-loris sending them byte by byte is cut off). */
  readonly headersTimeoutMs: number;
  /** Milliseconds a client has to send a whole request, body included. The worker's answer is not part of it. */
  readonly requestTimeoutMs: number;
  /** Milliseconds an idle keep-alive connection stays open. */
  readonly keepAliveTimeoutMs: number;
  /** Connections open at once; further ones are closed as they arrive, until some close. */
  readonly maxConnections: number;
}

/**
 * The port is loopback only, where even the largest body a deployment accepts (2 GiB) arrives in
 * seconds: a request still arriving after 2 minutes is a stalled or hostile client, not a slow
 * link. Keep-alive outlasts the idle timeouts of client pools (4–60 s), so that the server never
 * closes a connection a client is about to reuse. 4096 connections are more than the callers of
 * one machine need, and bound the descriptors they hold and what the gateway buffers for them
 * (64 KiB of body and 64 KiB of answer each: 512 MiB).
 */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 75_000,
  maxConnections: 4096,
};

const SETTINGS = {
  headersTimeoutMs: 'MLDEPLOY_HTTP_HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'MLDEPLOY_HTTP_REQUEST_TIMEOUT_MS',
  keepAliveTimeoutMs: 'MLDEPLOY_HTTP_KEEP_ALIVE_TIMEOUT_MS',
  maxConnections: 'MLDEPLOY_HTTP_MAX_CONNECTIONS',
} as const satisfies Record<keyof HttpLimits, string>;

const count = z.coerce
  .number()
  .int()
  .min(1)
  .max(2 ** 31 - 1);

/**
 * {@link DEFAULT_HTTP_LIMITS} with the `MLDEPLOY_HTTP_*` variables of `env` applied.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` for a value that is not a positive whole number,
 * or a headers timeout longer than the request timeout (which includes the headers).
 */
export function httpLimitsFrom(env: Readonly<Record<string, string | undefined>>): HttpLimits {
  const limits: Record<string, number> = { ...DEFAULT_HTTP_LIMITS };
  for (const [key, variable] of Object.entries(SETTINGS)) {
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    const parsed = count.safeParse(raw);
    if (!parsed.success) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', `${variable} must be a positive whole number; got ${JSON.stringify(raw)}`, {
        hint: `Unset it for the default (${DEFAULT_HTTP_LIMITS[key as keyof HttpLimits]}).`,
      });
    }
    limits[key] = parsed.data;
  }
  const result = limits as unknown as HttpLimits;
  if (result.headersTimeoutMs > result.requestTimeoutMs) {
    throw new MlDeployError(
      'INVALID_PARAMETER_VALUE',
      `${SETTINGS.headersTimeoutMs} (${result.headersTimeoutMs}) must not exceed ${SETTINGS.requestTimeoutMs} (${result.requestTimeoutMs})`,
      { hint: 'The request timeout covers the headers too.' },
    );
  }
  return result;
}

/** node:http's settings for `limits` (the connection cap is a property: `server.maxConnections`). */
export function serverOptions(limits: HttpLimits): ServerOptions & { headersTimeout: number } {
  // `headersTimeout` is an option of createServer since Node 18; @types/node 22 lists it only as a property.
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often expired requests are looked for: Node's default (30 s) would stretch a 10 s headers timeout to 40.
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs / 4),
  };
}
