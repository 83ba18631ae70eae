import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MlDeployError, errorToBody, toMlDeployError } from '../errors/index.js';
import { allowHeader, readBody, requireMethod } from '../http/read-body.js';
import { matchOipRoute, oipMethods, oipServerMetadata } from '../serving/open-inference.js';
import type { ControlPlane } from './control-plane.js';
import { Gateway, type Served } from './gateway.js';
import { Metrics } from './metrics.js';

/** Body limit of control-plane API requests (prediction bodies have their own, per deployment). */
const API_BODY_LIMIT = 1024 * 1024;
const GATEWAY_BODY_LIMIT = 2 ** 31 - 1;

type Handler = (match: RegExpExecArray, body: () => Promise<Record<string, unknown>>, url: URL) => Promise<{ status: number; body: unknown }>;

/**
 * The control plane's one HTTP port: the versioned REST API (`/api/v1/…`, documented in
 * docs/server-api.md), the prediction gateway (`/deployments/{name}/invocations`,
 * `/endpoints/{name}/invocations`, the Open Inference Protocol under `/v2`) and `/metrics`.
 */
export class ControlPlaneServer {
  readonly metrics = new Metrics();
  private readonly gateway: Gateway;
  private server: Server | undefined;
  private ready = false;
  private readonly routes: [string, RegExp, Handler][];

  constructor(
    private readonly plane: ControlPlane,
    private readonly info: { readonly version: string; readonly home: string },
    private readonly onShutdown: () => void,
  ) {
    this.gateway = new Gateway(plane, this.metrics);
    const ok = (body: unknown, status = 200): { status: number; body: unknown } => ({ status, body });
    const name = '([A-Za-z0-9][A-Za-z0-9._-]*)';
    this.routes = [
      ['GET', /^\/api\/v1\/health$/, () => Promise.resolve(ok({ status: this.ready ? 'ok' : 'starting', version: info.version, pid: process.pid, home: info.home }, this.ready ? 200 : 503))],
      ['GET', /^\/api\/v1\/deployments$/, () => Promise.resolve(ok({ deployments: plane.listDeployments() }))],
      [
        'POST',
        /^\/api\/v1\/deployments$/,
        async (_m, body) => {
          const b = await body();
          return ok(await plane.createDeployment(requiredString(b, 'name'), requiredString(b, 'model_uri'), optionalString(b['flavor']), record(b['config'])), 201);
        },
      ],
      ['GET', new RegExp(`^/api/v1/deployments/${name}$`), (m) => Promise.resolve(ok(plane.getDeployment(m[1]!)))],
      [
        'PATCH',
        new RegExp(`^/api/v1/deployments/${name}$`),
        async (m, body) => {
          const b = await body();
          return ok(await plane.updateDeployment(m[1]!, { ...(typeof b['model_uri'] === 'string' ? { modelUri: b['model_uri'] } : {}), ...(typeof b['flavor'] === 'string' ? { flavor: b['flavor'] } : {}), config: record(b['config']) }));
        },
      ],
      [
        'DELETE',
        new RegExp(`^/api/v1/deployments/${name}$`),
        async (m) => {
          await plane.deleteDeployment(m[1]!);
          return ok({ name: m[1], deleted: true });
        },
      ],
      ['GET', new RegExp(`^/api/v1/deployments/${name}/revisions$`), (m) => Promise.resolve(ok({ revisions: plane.history(m[1]!) }))],
      [
        'POST',
        new RegExp(`^/api/v1/deployments/${name}/rollback$`),
        async (m, body) => {
          const to = (await body())['to_revision'];
          if (to !== undefined && (typeof to !== 'number' || !Number.isInteger(to) || to < 1)) throw new MlDeployError('INVALID_PARAMETER_VALUE', `to_revision must be a revision number, got ${JSON.stringify(to)}`);
          return ok(await plane.rollback(m[1]!, to));
        },
      ],
      [
        'GET',
        new RegExp(`^/api/v1/deployments/${name}/logs$`),
        async (m, _b, url) => ok({ name: m[1], entries: await plane.logs(m[1]!, Math.min(Number(url.searchParams.get('tail') ?? 100) || 100, 10_000)) }),
      ],
      ['GET', /^\/api\/v1\/endpoints$/, () => Promise.resolve(ok({ endpoints: plane.listEndpoints() }))],
      [
        'POST',
        /^\/api\/v1\/endpoints$/,
        async (_m, body) => {
          const b = await body();
          return ok(plane.createEndpoint(requiredString(b, 'name'), record(b['config'])), 201);
        },
      ],
      ['GET', new RegExp(`^/api/v1/endpoints/${name}$`), (m) => Promise.resolve(ok(plane.getEndpoint(m[1]!)))],
      ['PATCH', new RegExp(`^/api/v1/endpoints/${name}$`), async (m, body) => ok(plane.updateEndpoint(m[1]!, record((await body())['config'])))],
      [
        'DELETE',
        new RegExp(`^/api/v1/endpoints/${name}$`),
        (m) => {
          plane.deleteEndpoint(m[1]!);
          return Promise.resolve(ok({ name: m[1], deleted: true }));
        },
      ],
      ['GET', /^\/api\/v1\/audit$/, (_m, _b, url) => Promise.resolve(ok({ entries: plane.store.auditLog(url.searchParams.get('subject') ?? undefined, Number(url.searchParams.get('limit') ?? 100) || 100) }))],
      [
        'POST',
        /^\/api\/v1\/shutdown$/,
        () => {
          setImmediate(this.onShutdown);
          return Promise.resolve(ok({ stopping: true }, 202));
        },
      ],
    ];
  }

  /** Listens on `host:port` (0 for a free port); returns the base URL. */
  async listen(host: string, port: number): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 75_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'EADDRINUSE' ? new MlDeployError('RESOURCE_CONFLICT', `Port ${port} on ${host} is already in use`, { hint: 'Pick another with --port.', cause: error }) : error),
      );
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  }

  /** Marks the control plane ready: health answers 200. */
  markReady(): void {
    this.ready = true;
  }

  async close(): Promise<void> {
    this.ready = false;
    const server = this.server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    this.gateway.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const oip = path.startsWith('/v2');
    try {
      if (path === '/metrics' && req.method === 'GET') return this.sendText(res, 200, this.renderMetrics());
      const gateway = /^\/(deployments|endpoints)\/([^/]+)\/invocations$/.exec(path);
      if (gateway !== null) {
        requireMethod(req.method ?? '', ['POST'], path);
        const body = await readBody(req, GATEWAY_BODY_LIMIT);
        const name = decodeURIComponent(gateway[2]!);
        const served = gateway[1] === 'deployments' ? await this.gateway.toDeployment(name, '/invocations', 'POST', req.headers, body) : await this.gateway.toEndpoint(name, '/invocations', 'POST', req.headers, body);
        return this.sendServed(res, served);
      }
      if (oip) return await this.handleOip(req, res, path);
      for (const [method, pattern, handler] of this.routes) {
        const match = pattern.exec(path);
        if (match === null) continue;
        if (req.method !== method) continue;
        const result = await handler(match, async () => parseJsonBody(await readBody(req, API_BODY_LIMIT)), url);
        return this.sendJson(res, result.status, result.body);
      }
      const allowed = this.routes.filter(([, pattern]) => pattern.test(path)).map(([method]) => method);
      if (allowed.length > 0) requireMethod(req.method ?? '', allowed, path);
      throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `No route ${req.method ?? ''} ${path}`, { hint: 'See docs/server-api.md.' });
    } catch (error) {
      const typed = toMlDeployError(error);
      const allow = allowHeader(typed);
      if (allow !== undefined) res.setHeader('allow', allow);
      this.sendJson(res, typed.status, oip ? { error: typed.message } : errorToBody(new MlDeployError(typed.code, typed.message, { hint: typed.hint, target: typed.target })));
    }
  }

  /** The Open Inference Protocol: server routes answered here, model routes by the deployment's workers. */
  private async handleOip(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = matchOipRoute(path);
    if (route === undefined) throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `No route ${path}`);
    const method = req.method ?? 'GET';
    requireMethod(method, oipMethods(route), path);
    if (route.kind === 'server') {
      if (route.action === 'metadata') return this.sendJson(res, 200, oipServerMetadata(this.info.version));
      return route.action === 'live' ? this.sendJson(res, 200, { live: true }) : this.sendJson(res, this.ready ? 200 : 503, { ready: this.ready });
    }
    const body = method === 'POST' ? await readBody(req, GATEWAY_BODY_LIMIT) : Buffer.alloc(0);
    return this.sendServed(res, await this.gateway.toDeployment(route.name, path, method, req.headers, body));
  }

  private renderMetrics(): string {
    const deployments = this.plane.listDeployments();
    const shadows = [...this.plane.shadows.entries()].map(([endpoint, stats]) => ({ endpoint, summary: stats.summary() }));
    return this.metrics.render([
      { name: 'mldeploy_deployment_live_replicas', help: 'Replicas of the serving revision that are up.', samples: deployments.map((d) => ({ labels: { deployment: String(d['name']), revision: String(d['revision']) }, value: Number(d['live_replicas']) })) },
      { name: 'mldeploy_deployment_restarts', help: 'Worker restarts after crashes, for the serving revision.', samples: deployments.map((d) => ({ labels: { deployment: String(d['name']) }, value: Number(d['restarts']) })) },
      { name: 'mldeploy_shadow_mirrored_total', help: 'Requests mirrored to a shadow deployment.', samples: shadows.map((s) => ({ labels: { endpoint: s.endpoint, shadow: s.summary.deployment }, value: s.summary.mirrored })) },
      { name: 'mldeploy_shadow_agreement_ratio', help: 'Share of shadow answers equal to the primary’s.', samples: shadows.filter((s) => s.summary.agreement_rate !== null).map((s) => ({ labels: { endpoint: s.endpoint, shadow: s.summary.deployment }, value: s.summary.agreement_rate! })) },
    ]);
  }

  private sendServed(res: ServerResponse, served: Served): void {
    res.writeHead(served.response.status, {
      'content-type': served.response.headers['content-type'] ?? 'application/json',
      'content-length': served.response.body.length,
      'x-mldeploy-deployment': served.deployment,
      'x-mldeploy-revision': String(served.revision),
      'x-mldeploy-route': served.rule,
    });
    res.end(served.response.body);
  }

  private sendJson(res: ServerResponse, status: number, body: unknown): void {
    const payload = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': payload.length });
    res.end(payload);
  }

  private sendText(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(text);
  }
}

function requiredString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value === '') throw new MlDeployError('INVALID_PARAMETER_VALUE', `The request needs a string '${key}'`);
  return value;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function record(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new MlDeployError('INVALID_PARAMETER_VALUE', `config must be an object, got ${JSON.stringify(value)}`);
  return value as Record<string, unknown>;
}

function parseJsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new MlDeployError('BAD_REQUEST', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new MlDeployError('BAD_REQUEST', 'The request body must be a JSON object');
  return parsed as Record<string, unknown>;
}
