import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { MlDeployError, errorToBody, maxOf, toMlDeployError } from '@mldeploy/core';
import { allowHeader, decodePathSegment, matchOipRoute, oipMethods, oipServerMetadata, readBody, requireMethod } from '@mldeploy/serving';
import type { Metrics } from './metrics.js';
import { noReplica, type RevisionRuntime } from './revision-runtime.js';
import type { Routes } from './routing-table.js';
import type { ShadowStats } from './shadow-stats.js';
import { chooseRoute } from './traffic-router.js';
import type { WorkerProcess } from './worker-process.js';

/** A response from a worker, buffered so that it can be compared (shadow) or retried. */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** What served a gateway request, for headers and metrics. */
export interface Served {
  readonly deployment: string;
  readonly revision: number;
  readonly rule: string;
  readonly response: UpstreamResponse;
}

const FORWARDED_HEADERS = ['content-type', 'authorization', 'accept'];
/** Prediction bodies are limited per deployment, by its workers; the gateway only relays. */
const BODY_LIMIT = 2 ** 31 - 1;
const INVOCATIONS = /^\/(deployments|endpoints)\/([^/]+)\/invocations$/;

/** What the gateway needs to know about its control plane besides the routes. */
export interface GatewayOptions {
  /** mldeploy's version, for the OIP server metadata. */
  readonly version: string;
  /** Whether every recorded deployment was brought back (OIP server readiness). */
  readonly isReady: () => boolean;
}

/**
 * The single port for prediction traffic: forwards requests to a deployment's live replicas
 * (round robin), chooses deployments for endpoints, mirrors shadow traffic, and retries once on
 * another replica when a worker dies with the request in flight (predictions are idempotent).
 *
 * It answers on plain node:http, ahead of the REST API's framework: every prediction goes
 * through here, and a router, hooks and reply objects per request would be paid on each.
 */
export class Gateway {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });

  constructor(
    private readonly routes: Routes,
    private readonly metrics: Metrics,
    private readonly options: GatewayOptions,
  ) {}

  /**
   * Answers `request` when its path is a gateway route (`/deployments/{name}/invocations`,
   * `/endpoints/{name}/invocations`, `/v2…`) and returns true; returns false, having done
   * nothing, for any other path.
   */
  handle(request: IncomingMessage, response: ServerResponse): boolean {
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (path === '/v2' || path.startsWith('/v2/')) {
      this.answer(response, true, () => this.oip(request, response, path));
      return true;
    }
    const invocations = INVOCATIONS.exec(path);
    if (invocations === null) return false;
    this.answer(response, false, async () => {
      requireMethod(request.method ?? '', ['POST'], path);
      const name = decodePathSegment(invocations[2]!);
      // Known before the body is read: an unknown name is 404 and an oversized body 413 at once
      // (from Content-Length), instead of after buffering up to the global limit.
      const body = await readBody(request, this.bodyLimit(invocations[1] === 'deployments' ? 'deployment' : 'endpoint', name));
      const served =
        invocations[1] === 'deployments'
          ? await this.toDeployment(name, '/invocations', 'POST', request.headers, body)
          : await this.toEndpoint(name, '/invocations', 'POST', request.headers, body);
      sendServed(response, served);
    });
    return true;
  }

  /** The Open Inference Protocol: server routes answered here, model routes by the deployment's workers. */
  private async oip(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    const route = matchOipRoute(path);
    if (route === undefined) throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `No route ${path}`);
    const method = request.method ?? 'GET';
    requireMethod(method, oipMethods(route), path);
    if (route.kind === 'server') {
      const ready = this.options.isReady();
      if (route.action === 'metadata') sendJson(response, 200, oipServerMetadata(this.options.version));
      else if (route.action === 'live') sendJson(response, 200, { live: true });
      else sendJson(response, ready ? 200 : 503, { ready });
      return;
    }
    const body = method === 'POST' ? await readBody(request, this.bodyLimit('deployment', route.name)) : Buffer.alloc(0);
    sendServed(response, await this.toDeployment(route.name, path, method, request.headers, body));
  }

  private answer(response: ServerResponse, oip: boolean, work: () => Promise<void>): void {
    work().catch((error: unknown) => {
      const typed = toMlDeployError(error);
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const allow = allowHeader(typed);
      if (allow !== undefined) response.setHeader('allow', allow);
      sendJson(
        response,
        typed.status,
        oip
          ? { error: typed.message }
          : errorToBody(new MlDeployError(typed.code, typed.message, { hint: typed.hint, target: typed.target })),
      );
    });
  }

  /**
   * The body limit of a request to a deployment (its `max_body_size`) or an endpoint (the largest
   * of its deployments'; the chosen worker enforces its own), known before the body is read.
   *
   * @throws MlDeployError `RESOURCE_DOES_NOT_EXIST` for an unknown name.
   */
  private bodyLimit(kind: 'deployment' | 'endpoint', name: string): number {
    if (kind === 'deployment') {
      const runtime = this.routes.deployment(name);
      if (runtime === undefined) throw missingDeployment(name);
      // No replica up: toDeployment answers 503 once the body is in.
      return runtime?.maxBodyBytes ?? BODY_LIMIT;
    }
    const route = this.routes.endpoint(name);
    if (route === undefined) throw missingEndpoint(name);
    return maxOf(Object.keys(route.config.traffic), (d) => this.routes.deployment(d)?.maxBodyBytes ?? 0) || BODY_LIMIT;
  }

  /** Forwards to a deployment. `path` is the worker path (`/invocations`, `/v2/models/<name>/infer`, …). */
  private async toDeployment(
    name: string,
    path: string,
    method: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
    rule = 'direct',
  ): Promise<Served> {
    const runtime = this.routes.deployment(name);
    if (runtime === undefined) throw missingDeployment(name);
    if (runtime === null) throw noReplica(name);
    const started = process.hrtime.bigint();
    const response = await this.forward(runtime, path, method, headers, body);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    this.metrics.observe({ deployment: name, revision: String(runtime.revision.revision), route: rule }, response.status, ms);
    return { deployment: name, revision: runtime.revision.revision, rule, response };
  }

  /** Routes a request to an endpoint: pin, sticky or weighted, then mirrors it to the shadow. */
  private async toEndpoint(name: string, path: string, method: string, headers: IncomingHttpHeaders, body: Buffer): Promise<Served> {
    const route = this.routes.endpoint(name);
    if (route === undefined) throw missingEndpoint(name);
    const { config, shadow: stats } = route;
    const decision = chooseRoute(name, config, headers);
    const started = process.hrtime.bigint();
    const served = await this.toDeployment(decision.deployment, path, method, headers, body, `endpoint:${name}:${decision.rule}`);
    const primaryMs = Number(process.hrtime.bigint() - started) / 1e6;
    const shadow = config.shadow;
    if (shadow !== null && stats !== undefined && served.response.status === 200 && Math.random() * 100 < shadow.percent) {
      void this.mirror(name, stats, path, method, headers, body, served.response, primaryMs);
    }
    return served;
  }

  /** Sends a copy to the shadow and compares; its answer and failures never reach the caller. */
  private async mirror(
    endpoint: string,
    stats: ShadowStats,
    path: string,
    method: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
    primary: UpstreamResponse,
    primaryMs: number,
  ): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      const served = await this.toDeployment(stats.deployment, path, method, headers, body, `shadow:${endpoint}`);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (served.response.status !== 200) {
        stats.recordError();
        return;
      }
      stats.record(JSON.parse(primary.body.toString()), JSON.parse(served.response.body.toString()), primaryMs, ms);
    } catch {
      stats.recordError();
    }
  }

  private async forward(
    runtime: RevisionRuntime,
    path: string,
    method: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
  ): Promise<UpstreamResponse> {
    let failed: WorkerProcess | undefined;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const worker = runtime.pick(failed);
      if (worker === undefined) throw noReplica(runtime.revision.deployment);
      worker.inFlight += 1;
      try {
        return await this.send(worker.port, path, method, headers, body);
      } catch (error) {
        // Only a broken connection is retried: an HTTP error is the model's answer.
        failed = worker;
        if (attempt === 1) {
          throw new MlDeployError(
            'TEMPORARILY_UNAVAILABLE',
            `A replica of "${runtime.revision.deployment}" failed while answering: ${(error as Error).message}`,
            { target: 'local', cause: error },
          );
        }
      } finally {
        worker.inFlight -= 1;
      }
    }
    throw noReplica(runtime.revision.deployment);
  }

  private send(port: number, path: string, method: string, headers: IncomingHttpHeaders, body: Buffer): Promise<UpstreamResponse> {
    const forwarded: Record<string, string> = { 'content-length': String(body.length) };
    for (const name of FORWARDED_HEADERS) {
      const value = headers[name];
      if (typeof value === 'string') forwarded[name] = value;
    }
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method, headers: forwarded, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes the keep-alive connections to workers. */
  close(): void {
    this.agent.destroy();
  }
}

function sendServed(response: ServerResponse, served: Served): void {
  response.writeHead(served.response.status, {
    'content-type': served.response.headers['content-type'] ?? 'application/json',
    'content-length': served.response.body.length,
    'x-mldeploy-deployment': served.deployment,
    'x-mldeploy-revision': String(served.revision),
    'x-mldeploy-route': served.rule,
  });
  response.end(served.response.body);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body));
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': payload.length });
  response.end(payload);
}

function missingDeployment(name: string): MlDeployError {
  return new MlDeployError('RESOURCE_DOES_NOT_EXIST', `Deployment "${name}" does not exist on the local target`, {
    target: 'local',
    hint: "See what exists with 'mldeploy list -t local'.",
  });
}

function missingEndpoint(name: string): MlDeployError {
  return new MlDeployError('RESOURCE_DOES_NOT_EXIST', `Endpoint "${name}" does not exist on the local target`, {
    target: 'local',
    hint: "See what exists with 'mldeploy list-endpoints -t local'.",
  });
}
