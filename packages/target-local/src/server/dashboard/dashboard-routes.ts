import type { ServerResponse } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MlDeployError, maskSecrets } from '@mldeploy/core';
import {
  EVENTS_PATH,
  KEY_HEADER,
  KEY_QUERY,
  PROBLEM_EVENT,
  SESSION_PATH,
  SIGNED_OUT_EVENT,
  SNAPSHOT_EVENT,
  type SnapshotInput,
} from '@mldeploy/dashboard';
import { registerApi, type ApiHandlers } from '../api-routes.js';
import type { ApiRouteName } from '../api-schema.js';
import type { DashboardAssets } from './dashboard-assets.js';
import { DASHBOARD_LOGIN_PATH, type Dashboard } from './dashboard.js';
import { DashboardSessions, type DashboardSession } from './dashboard-sessions.js';
import { signInPage, SECURITY_HEADERS } from './dashboard-pages.js';

/** What the dashboard's pages read: every view of the API, none of its secrets or its changes. */
const READ_ROUTES = [
  'listDeployments',
  'getDeployment',
  'listRevisions',
  'logs',
  'listEndpoints',
  'getEndpoint',
  'listRollouts',
  'getRollout',
  'audit',
] as const satisfies readonly ApiRouteName[];

/** The only changes a dashboard can make: pause, resume, abort or promote a rollout, roll a deployment back. */
const ACTION_ROUTES = ['controlRollout', 'rollback'] as const satisfies readonly ApiRouteName[];

/** Live-update streams open at once (each a browser tab), in all and per session; more are refused until some close. */
const MAX_STREAMS = 32;
const MAX_STREAMS_PER_SESSION = 4;

/** What the dashboard's routes need. */
export interface DashboardRouteOptions {
  readonly dashboard: Dashboard;
  readonly handlers: ApiHandlers;
  readonly assets: DashboardAssets;
  readonly version: string;
  readonly home: string;
  /** The origins the dashboard's own pages have (`http://127.0.0.1:PORT`, …), known once the server listens. */
  readonly origins: () => ReadonlySet<string>;
  /** The name of the session cookie: with the port in it, since browsers share a host's cookies across its ports. */
  readonly cookieName: () => string;
}

/**
 * The dashboard under `/dashboard` (register with that prefix): its pages and built front end,
 * its sign-in (`/dashboard/login?code=…`, the link `mldeploy dashboard` prints), the API's read
 * routes and its rollout and rollback actions under `/dashboard/api/v1/…`, and live updates
 * (`/dashboard/events`, server-sent events). Every request but the sign-in needs the session
 * cookie (HttpOnly, SameSite=Strict); every request for data or a change also needs the page's
 * key (`KEY_HEADER`, see @mldeploy/dashboard), which the cookie cannot stand in for; a change
 * also needs a same-origin request (Origin and Sec-Fetch-Site, when the browser sends them).
 * Changes are made by the same handlers as the API's, in the name of whoever opened the link,
 * and so land in the same audit log; what is read has its secrets masked, as in the audit log.
 */
export async function dashboardRoutes(scope: FastifyInstance, options: DashboardRouteOptions): Promise<void> {
  const { dashboard, assets } = options;
  const sessions = new WeakMap<FastifyRequest, DashboardSession>();
  const streams = new Map<() => void, string>();
  // One snapshot per interval, whatever the number of open tabs: each stream's tick asks for it.
  let shared: { readonly at: number; readonly snapshot: Promise<unknown> } | undefined;
  const currentSnapshot = (reply: FastifyReply): Promise<unknown> => {
    const now = Date.now();
    if (shared === undefined || now - shared.at >= dashboard.series.intervalMs / 2) {
      shared = { at: now, snapshot: snapshot(options, reply).then(maskSecrets) };
    }
    return shared.snapshot;
  };
  const sessionOf = (request: FastifyRequest): DashboardSession => {
    const session = sessions.get(request);
    if (session === undefined) throw new MlDeployError('UNAUTHENTICATED', 'Not signed in to the dashboard');
    return session;
  };

  await scope.register(fastifyCookie);
  scope.addHook('onRequest', async (request, reply) => {
    void reply.headers(SECURITY_HEADERS);
    const path = request.url.split('?', 1)[0]!;
    if (path === DASHBOARD_LOGIN_PATH) return;
    const data = path.startsWith('/dashboard/api/') || path === EVENTS_PATH;
    const session = dashboard.sessions.session(request.cookies[options.cookieName()]);
    if (session === undefined) {
      if (data) {
        throw new MlDeployError('UNAUTHENTICATED', 'Not signed in to the dashboard', {
          hint: "Open the link that 'mldeploy dashboard' prints.",
        });
      }
      return reply.code(401).type('text/html; charset=utf-8').send(signInPage('signed-out'));
    }
    if (data) {
      const given = path === EVENTS_PATH ? (request.query as Record<string, unknown>)[KEY_QUERY] : request.headers[KEY_HEADER];
      if (!DashboardSessions.keyMatches(session, typeof given === 'string' ? given : undefined)) {
        throw new MlDeployError('PERMISSION_DENIED', "The dashboard's data needs the key of the page that signed in", {
          hint: "Open the link that 'mldeploy dashboard' prints (other tabs of the same browser then share it).",
        });
      }
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') refuseCrossSite(request, options.origins());
    sessions.set(request, session);
  });
  scope.addHook('preClose', (done) => {
    // Open streams would hold the server's close (it waits for its connections) forever.
    for (const end of streams.keys()) end();
    done();
  });

  // No HEAD: a link checker or prefetcher would spend the code.
  scope.get('/login', { exposeHeadRoute: false }, async (request, reply) => {
    const code = (request.query as Record<string, unknown>)['code'];
    const session = typeof code === 'string' ? dashboard.sessions.redeem(code) : undefined;
    if (session === undefined) return reply.code(403).type('text/html; charset=utf-8').send(signInPage('link-spent'));
    void reply.setCookie(options.cookieName(), session.id, {
      httpOnly: true,
      sameSite: 'strict',
      path: '/dashboard',
      maxAge: Math.round((session.endsAt - Date.now()) / 1000),
    });
    // A page of ours that moves on, rather than a redirect: a redirect would carry the site of
    // whatever page the link was clicked on, for which a SameSite=Strict cookie is not sent.
    return reply.type('text/html; charset=utf-8').send(signInPage('signed-in', session.key));
  });

  scope.get(SESSION_PATH.slice('/dashboard'.length), (request, reply) => {
    const session = sessionOf(request);
    return reply.send({ actor: session.actor, version: options.version, home: options.home });
  });

  registerApi(scope, options.handlers, {
    only: [...READ_ROUTES, ...ACTION_ROUTES],
    caller: (request) => `${sessionOf(request).actor} via dashboard`,
    answer: maskSecrets,
  });

  scope.get(EVENTS_PATH.slice('/dashboard'.length), { exposeHeadRoute: false }, (request, reply) => {
    const session = sessionOf(request);
    const ofSession = [...streams.values()].filter((id) => id === session.id).length;
    if (streams.size >= MAX_STREAMS || ofSession >= MAX_STREAMS_PER_SESSION) {
      const open =
        ofSession >= MAX_STREAMS_PER_SESSION
          ? `${MAX_STREAMS_PER_SESSION} live views open in this browser`
          : `${MAX_STREAMS} live views open`;
      throw new MlDeployError('REQUEST_LIMIT_EXCEEDED', `The dashboard has ${open} already`, { hint: 'Close some dashboard tabs.' });
    }
    reply.hijack();
    const raw = reply.raw;
    // Connection: close (which the gateway passes on to the browser's connection): an ended
    // stream ends its connection too, so that a control plane stopping, which ends every stream,
    // is not kept waiting by browsers holding those connections open for another request.
    raw.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'close',
    });
    raw.write(`retry: ${dashboard.series.intervalMs}\n\n`);
    let sending = false;
    const send = async (): Promise<void> => {
      // A reader that does not keep up gets the next snapshot, not a backlog.
      if (sending || raw.writableNeedDrain) return;
      sending = true;
      try {
        // Peeked, not renewed: a tab left open is not use, and must not keep a session for ever.
        if (dashboard.sessions.peek(session.id) === undefined) {
          writeEvent(raw, SIGNED_OUT_EVENT, {});
          end();
          return;
        }
        writeEvent(raw, SNAPSHOT_EVENT, await currentSnapshot(reply));
      } catch (error) {
        writeEvent(raw, PROBLEM_EVENT, { message: (error as Error).message });
      } finally {
        sending = false;
      }
    };
    const timer = setInterval(() => void send(), dashboard.series.intervalMs);
    const end = (): void => {
      clearInterval(timer);
      streams.delete(end);
      if (!raw.writableEnded) raw.end();
    };
    streams.set(end, session.id);
    raw.once('close', end);
    dashboard.watch();
    void send();
  });

  scope.get('/', async (request, reply) => {
    // The page loads its files relative to /dashboard/: without the slash they would miss.
    if (request.url.split('?', 1)[0] === '/dashboard') return reply.redirect('/dashboard/', 308);
    return sendAsset(reply, 'index.html');
  });
  scope.get('/:file', async (request, reply) => sendAsset(reply, (request.params as { file: string }).file));

  async function sendAsset(reply: FastifyReply, name: string): Promise<FastifyReply> {
    const asset = await assets.get(name);
    if (asset === undefined) throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `No dashboard file ${JSON.stringify(name)}`);
    return reply.type(asset.contentType).send(asset.body);
  }
}

/** Everything the page shows, as one server-sent event (see `@mldeploy/dashboard`'s protocol). */
async function snapshot(options: DashboardRouteOptions, reply: FastifyReply): Promise<SnapshotInput> {
  const { handlers, dashboard } = options;
  const read = { params: undefined, query: undefined, body: undefined, caller: 'dashboard' } as const;
  const [deployments, endpoints, rollouts] = await Promise.all([
    handlers.listDeployments(read, reply),
    handlers.listEndpoints(read, reply),
    handlers.listRollouts({ ...read, query: { endpoint: undefined } }, reply),
  ]);
  return {
    at: new Date().toISOString(),
    interval_seconds: dashboard.series.intervalMs / 1000,
    deployments: deployments.deployments,
    endpoints: endpoints.endpoints,
    rollouts: rollouts.rollouts,
    series: dashboard.series.series(),
    routing: dashboard.series.routing(),
    targets: dashboard.targets(),
  };
}

function writeEvent(raw: ServerResponse, event: string, data: unknown): void {
  raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * A change must come from the dashboard's own page: the page's key (which only a page of this
 * origin holds) already says so; the browser's own Origin and Sec-Fetch-Site headers, when sent,
 * must agree.
 */
function refuseCrossSite(request: FastifyRequest, origins: ReadonlySet<string>): void {
  const origin = request.headers.origin;
  const site = request.headers['sec-fetch-site'];
  if ((origin !== undefined && !origins.has(origin)) || (site !== undefined && site !== 'same-origin')) {
    throw new MlDeployError('PERMISSION_DENIED', 'The dashboard takes changes from its own pages only');
  }
}
