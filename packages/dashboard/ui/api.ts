/**
 * Requests to the control plane, same origin: the session cookie goes along by itself, and every
 * request carries the page's key. Every answer is checked against the protocol before use.
 */
import type * as z from 'zod/mini';
import { API_BASE, apiErrorSchema, KEY_HEADER, SESSION_PATH, sessionSchema, type RolloutAction, type Session } from '../src/protocol.js';
import { pageKey } from './page-key.js';

/** A failed request, with the control plane's message and hint when it sent them. */
export class DashboardError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DashboardError';
  }
}

async function answer<T>(response: Response, schema: z.ZodMiniType<T>, what: string): Promise<T> {
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = apiErrorSchema.safeParse(body);
    if (error.success) throw new DashboardError(error.data.message, error.data.hint, response.status);
    throw new DashboardError(`${what} failed: HTTP ${response.status} ${response.statusText}`.trim(), undefined, response.status);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new DashboardError(
      `${what}: the control plane's answer is not what this page expects`,
      'Reload the page: the control plane may have been upgraded.',
    );
  }
  return parsed.data;
}

async function send(path: string, init: RequestInit): Promise<Response> {
  try {
    const headers = new Headers(init.headers);
    headers.set(KEY_HEADER, pageKey());
    return await fetch(path, { credentials: 'same-origin', ...init, headers });
  } catch (error) {
    throw new DashboardError(`The control plane did not answer (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** GET an API route (`deployments/iris/revisions`), its answer checked by `schema`. */
export async function getJson<T>(route: string, schema: z.ZodMiniType<T>, signal?: AbortSignal): Promise<T> {
  const response = await send(`${API_BASE}/${route}`, { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
  return answer(response, schema, `GET ${route}`);
}

/** The page's session: actor, version, home. */
export async function getSession(): Promise<Session> {
  return answer(await send(SESSION_PATH, { headers: { accept: 'application/json' } }), sessionSchema, 'GET session');
}

/** POST a change with its JSON body; the answer is checked by `schema`. */
export async function postJson<T>(route: string, body: object, schema: z.ZodMiniType<T>): Promise<T> {
  const response = await send(`${API_BASE}/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  return answer(response, schema, `POST ${route}`);
}

/** The route of a rollout action. */
export const rolloutActionRoute = (id: string, action: RolloutAction): string => `rollouts/${encodeURIComponent(id)}/${action}`;
