import { timingSafeEqual } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { LogController, fastify, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { MlDeployError, codeForHttpStatus, errorToBody, isMlDeployError, toMlDeployError } from '@mldeploy/core';
import { dashboardAssetsDir } from '@mldeploy/dashboard';
import { allowHeader } from '@mldeploy/serving';
import { apiHandlers, refuseOtherMethods, registerApi } from './api-routes.js';
import type { ControlPlane } from './control-plane.js';
import { Dashboard } from './dashboard/dashboard.js';
import { DashboardAssets } from './dashboard/dashboard-assets.js';
import { dashboardRoutes } from './dashboard/dashboard-routes.js';
import { loopbackHosts, refuseForeignHost } from './host-check.js';
import { DEFAULT_HTTP_LIMITS, serverOptions, type HttpLimits } from './http-limits.js';
import type { Logger } from './logger.js';
import { Metrics, requestSources } from './metrics.js';

/** Body limit of control-plane API requests (prediction bodies have their own, per deployment). */
const API_BODY_LIMIT = 1024 * 1024;

/** What the server reports about itself. */
export interface ControlPlaneServerInfo {
  readonly version: string;
  readonly home: string;
  /** The bearer token every API call but health must carry (published in the 0600 server.json). */
  readonly token: string;
}

/**
 * The control plane's HTTP API on its Unix socket (`run/api.sock`), which the gateway process
 * forwards every request it does not answer itself to, as it came: the versioned REST API
 * (`/api/v1/…`, docs/server-api.md, routes and schemas from api-schema.ts) and `/metrics`, on
 * Fastify. It checks every request as if it came straight from the public port (Host, Origin,
 * the token): the gateway passes them on untouched.
 */
export class ControlPlaneServer {
  private readonly app: FastifyInstance;
  private readonly dashboard: Dashboard;
  private ready = false;
  private url = '';
  /** The Host values this server answers (loopback names with its port), fixed once it listens. */
  private allowedHosts: ReadonlySet<string> = new Set();

  /** No I/O: {@link listen} binds the socket. */
  constructor(
    plane: ControlPlane,
    private readonly info: ControlPlaneServerInfo,
    private readonly logger: Logger,
    onShutdown: () => void,
    limits: HttpLimits = DEFAULT_HTTP_LIMITS,
  ) {
    const metrics = new Metrics({
      deployments: () => plane.listDeployments(),
      shadows: async () =>
        Object.entries(await plane.shadows()).map(([endpoint, summary]) => ({
          endpoint,
          shadow: summary.deployment,
          mirrored: summary.mirrored,
          agreementRate: summary.agreementRate,
        })),
      workerPorts: () => plane.workerPorts(),
      gatewayRequests: async () => plane.gateway?.requests(),
    });
    // Typed as Fastify's logger, so that the instance has Fastify's default logger type.
    const loggerInstance: FastifyBaseLogger = logger;
    this.app = fastify({
      loggerInstance,
      // Requests are logged once, at debug, by the onResponse hook below.
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: API_BODY_LIMIT,
      serverFactory: (fastify) => {
        // The gateway checked Host already; checked again here, so that the API never depends on what is in front of it.
        return createServer(serverOptions(limits), (request, response) => {
          if (!refuseForeignHost(request.headers.host, this.allowedHosts, this.url, response)) fastify(request, response);
        });
      },
    });
    // JSON only: any other Content-Type with a body is 415, before a handler runs.
    this.app.removeAllContentTypeParsers();
    // A body that does not parse is refused by the preValidation hook below, not by the parser:
    // after a parser's error Fastify closes the connection, and the gateway's proxy, still ending
    // its request on it, met EPIPE and answered 503 instead of this 400 (the body was read whole).
    this.app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
      try {
        done(null, parseJsonObject(text as string));
      } catch (error) {
        done(null, new UnparsedBody(error as Error));
      }
    });
    this.app.addHook('preValidation', (request, _reply, done) => {
      if (request.body instanceof UnparsedBody) return done(request.body.error);
      done();
    });
    this.app.setErrorHandler(async (error: FastifyError, request, reply) => {
      const typed = fromFastifyError(error);
      const path = withoutQuery(request.url);
      if (typed.status >= 500)
        logger.error({ err: error, method: request.method, url: path }, `${request.method} ${path} failed: ${typed.message}`);
      // Fastify closes the connection after a refused body; a client still sending it would get
      // EPIPE instead of this answer, so the rest of the body is read (and dropped) first.
      if (typed.code === 'REQUEST_TOO_LARGE') await drain(request.raw, 10_000);
      const allow = allowHeader(typed);
      if (allow !== undefined) void reply.header('allow', allow);
      return reply
        .code(typed.status)
        .send(errorToBody(new MlDeployError(typed.code, typed.message, { hint: typed.hint, target: typed.target })));
    });
    this.app.setNotFoundHandler((request) => {
      throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `No route ${request.method} ${request.url.split('?', 1)[0]!}`, {
        hint: 'See docs/server-api.md.',
      });
    });
    // The API changes state and sees secrets: browsers (any request carrying Origin, which every
    // cross-site fetch or form does) and callers without this home's token are refused before any
    // route runs. Health stays open for the launcher's probes; it changes nothing.
    this.app.addHook('onRequest', (request, _reply, done) => {
      const path = request.url.split('?', 1)[0]!;
      if (!path.startsWith('/api/') && path !== '/metrics') return done();
      if (request.headers.origin !== undefined) {
        return done(
          new MlDeployError('PERMISSION_DENIED', 'The control-plane API does not answer requests from web pages', {
            hint: 'Use the mldeploy CLI or library.',
          }),
        );
      }
      if (path === '/api/v1/health' || path === '/metrics') return done();
      if (!tokenMatches(request.headers.authorization, info.token)) {
        return done(
          new MlDeployError('UNAUTHENTICATED', 'The control-plane API needs the token of this home (Authorization: Bearer …)', {
            hint: `The mldeploy CLI and library read it from ${info.home}/server.json, which only the user running the control plane can read.`,
          }),
        );
      }
      done();
    });
    this.app.addHook('onResponse', (request, reply, done) => {
      const path = withoutQuery(request.url);
      logger.debug(
        { method: request.method, url: path, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
        `${request.method} ${path} ${reply.statusCode}`,
      );
      done();
    });
    this.dashboard = new Dashboard(() =>
      requestSources({ gatewayRequests: async () => plane.gateway?.requests(), workerPorts: () => plane.workerPorts() }),
    );
    const handlers = apiHandlers({
      plane,
      version: info.version,
      home: info.home,
      isReady: () => this.ready,
      gatewayUrl: () => this.url,
      onShutdown,
      dashboard: this.dashboard,
    });
    registerApi(this.app, handlers);
    void this.app.register(dashboardRoutes, {
      prefix: '/dashboard',
      dashboard: this.dashboard,
      handlers,
      assets: new DashboardAssets(dashboardAssetsDir()),
      version: info.version,
      home: info.home,
      origins: () => new Set([...this.allowedHosts].map((host) => `http://${host}`)),
      cookieName: () => `mldeploy-dashboard-${new URL(this.url).port}`,
    });
    this.app.get('/metrics', async (_request, reply) => {
      void reply.type(metrics.contentType);
      return metrics.render();
    });
    refuseOtherMethods(this.app, '/metrics', ['GET', 'HEAD']);
  }

  /**
   * Listens on the Unix socket `socketPath` (owner-only; a socket file there is a dead control
   * plane's, since the home's lock is held), for requests the gateway forwards from `url`, the
   * home's public URL.
   */
  async listen(socketPath: string, url: string): Promise<void> {
    this.url = url;
    this.allowedHosts = loopbackHosts(url);
    await rm(socketPath, { force: true });
    await this.app.listen({ path: socketPath, listenTextResolver: () => `control plane for ${this.info.home} listening on ${url}` });
    await chmod(socketPath, 0o600);
  }

  /** Marks the control plane ready: health answers 200. */
  markReady(): void {
    this.ready = true;
  }

  /** Stops taking requests (health turns 503 at once) and closes the socket. */
  async close(): Promise<void> {
    this.ready = false;
    this.dashboard.close();
    await this.app.close();
  }
}

/** A request's path without its query, for logs: a query may carry the dashboard's sign-in code or page key. */
function withoutQuery(url: string): string {
  return url.split('?', 1)[0]!;
}

/** Reads and drops what is left of a request body, for at most `timeoutMs`. */
async function drain(request: IncomingMessage, timeoutMs: number): Promise<void> {
  if (request.readableEnded || request.destroyed) return;
  const timer = setTimeout(() => request.destroy(), timeoutMs);
  request.resume();
  await new Promise<void>((resolve) => {
    request.once('end', resolve);
    request.once('close', resolve);
  });
  clearTimeout(timer);
}

/** A request body that is not a JSON object, with why: refused once it has been read whole. */
class UnparsedBody {
  constructor(readonly error: Error) {}
}

/** A JSON request body as an object; an empty body is `{}`. */
function parseJsonObject(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MlDeployError('BAD_REQUEST', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new MlDeployError('BAD_REQUEST', 'The request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Fastify's own errors (content type, body size, bad URL) as the coded errors the API answers with. */
function fromFastifyError(error: FastifyError): MlDeployError {
  if (isMlDeployError(error)) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new MlDeployError('UNSUPPORTED_MEDIA_TYPE', 'The API takes JSON request bodies', {
        hint: "Send 'Content-Type: application/json'.",
      });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new MlDeployError('REQUEST_TOO_LARGE', `The request body is larger than the API's limit of ${API_BODY_LIMIT} bytes`);
    default:
      return error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
        ? new MlDeployError(codeForHttpStatus(error.statusCode), error.message)
        : toMlDeployError(error);
  }
}

/** Compares a request's Authorization header with the token in constant time. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
