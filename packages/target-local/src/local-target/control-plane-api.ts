import type { z } from 'zod';
import { httpRequest, MlDeployError } from '@mldeploy/core';
import { ACTOR_HEADER, API, type ApiRequest, type ApiResponse, type ApiRoute, type ApiRouteName } from '../server/api-schema.js';
import { readServerInfo } from '../server/server-home.js';

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * A client of a control plane's REST API, typed by the route table the server is built from
 * (server/api-schema.ts): requests are checked at compile time, answers against the schemas at
 * run time. Failures come back as the typed errors the server raised.
 */
export class ControlPlaneApi {
  /**
   * `base` is the control plane's URL, or a function that finds (or starts) it on first use;
   * `home` is where its server.json (with the API token) is read from; `actor` is the OS user
   * the caller runs as, which the control plane records as who made each change.
   */
  constructor(
    private readonly base: string | (() => Promise<string>),
    private readonly home?: string,
    private readonly actor?: string,
  ) {}

  /**
   * Calls one route.
   *
   * @throws MlDeployError the server's error; `INTERNAL_ERROR` when its answer does not match
   * the route's schema (a control plane of another version).
   */
  async call<N extends ApiRouteName>(name: N, request: ApiRequest<N>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ApiResponse<N>> {
    const route: ApiRoute = API[name];
    const params = (request.params ?? {}) as Readonly<Record<string, string>>;
    const path = route.path.replace(/:([A-Za-z_]+)/g, (_, key: string) => encodeURIComponent(params[key] ?? ''));
    const query = new URLSearchParams(
      Object.entries((request.query ?? {}) as Readonly<Record<string, string | undefined>>).filter(
        (entry): entry is [string, string] => entry[1] !== undefined,
      ),
    ).toString();
    const base = typeof this.base === 'string' ? this.base : await this.base();
    const token = this.home === undefined ? undefined : (await readServerInfo(this.home))?.token;
    const headers: Record<string, string> = {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(this.actor === undefined || this.actor === '' ? {} : { [ACTOR_HEADER]: encodeURIComponent(this.actor) }),
      ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    const response = await httpRequest(`${base}${path}${query === '' ? '' : `?${query}`}`, {
      method: route.method,
      headers,
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      timeoutMs,
      target: 'local',
    });
    return answer(route.response, response.text, `${route.method} ${route.path}`, base) as ApiResponse<N>;
  }

  /** The control plane's health, or undefined when it does not answer that it is ready. */
  async health(timeoutMs = 2_000): Promise<ApiResponse<'health'> | undefined> {
    return this.call('health', {}, timeoutMs).catch(() => undefined);
  }

  /** Asks the control plane to stop its workers and exit; resolves once it has accepted. */
  async shutdown(): Promise<void> {
    await this.call('shutdown', {});
  }
}

function answer(schema: z.ZodType, text: string, route: string, base: string): unknown {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new MlDeployError(
      'INTERNAL_ERROR',
      `The control plane at ${base} answered ${route} with a body this client does not understand: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`,
      {
        target: 'local',
        hint: "It may run another version of mldeploy: restart it with 'mldeploy server stop' (the next command starts this version).",
      },
    );
  }
  return parsed.data;
}
