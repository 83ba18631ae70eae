import type { ServerResponse } from 'node:http';
import { MlDeployError, errorToBody } from '@mldeploy/core';

/** The Host values that name the home's port (`url`'s) by a loopback name. */
export function loopbackHosts(url: string): ReadonlySet<string> {
  const { port } = new URL(url);
  return new Set(['127.0.0.1', 'localhost', '[::1]'].map((name) => `${name}:${port}`));
}

/**
 * DNS rebinding: a page on another site whose name now resolves to 127.0.0.1 reaches the port
 * with its own name in Host. Only loopback names are answered: this refuses any other with 403,
 * before any route runs, and returns true; false when `host` is allowed.
 */
export function refuseForeignHost(host: string | undefined, allowed: ReadonlySet<string>, url: string, response: ServerResponse): boolean {
  if (host !== undefined && allowed.has(host)) return false;
  refuse(
    response,
    403,
    new MlDeployError('PERMISSION_DENIED', `Host ${JSON.stringify(host ?? '')} is not this control plane`, { hint: `Call it as ${url}.` }),
  );
  return true;
}

/** Answers a refused request with the JSON error body, and closes the connection. */
export function refuse(response: ServerResponse, status: number, error: MlDeployError): void {
  const body = JSON.stringify(errorToBody(error));
  response
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' })
    .end(body);
}
