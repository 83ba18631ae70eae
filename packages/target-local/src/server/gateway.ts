import {
  Agent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { MlDeployError, errorToBody, toMlDeployError } from '@mldeploy/core';
import { allowHeader, decodePathSegment, matchOipRoute, oipMethods, oipServerMetadata, requireMethod } from '@mldeploy/serving';
import { REPLAY_BYTES, closeAfterAnswer, readBody, streamBody, type RequestBody } from './gateway-body.js';
import type { Replica, Routes, ServedRevision } from './gateway-routes.js';
import type { RequestLabels } from './request-metrics.js';
import { noReplica } from './revision-runtime.js';
import type { ShadowStats } from './shadow-stats.js';
import { chooseRoute } from './traffic-router.js';

const FORWARDED_HEADERS = ['content-type', 'authorization', 'accept'];
const INVOCATIONS = /^\/(deployments|endpoints)\/([^/]+)\/invocations$/;
/**
 * The largest primary answer kept for an endpoint's shadow comparison. A larger one (or one of
 * unknown size) is streamed to the caller and not compared: holding it would cost the memory
 * streaming saves, for a sample the shadow statistics do not need.
 */
const SHADOW_ANSWER_BYTES = 1024 * 1024;
/**
 * The gateway's deadline on a worker is the deployment's `timeout` plus this: the worker answers
 * 504 itself at `timeout`, and the margin lets that answer arrive. The gateway's own deadline
 * catches a worker that cannot answer at all (stopped, or its event loop blocked).
 */
const DEADLINE_MARGIN_MS = 1_000;

/** Where the gateway counts the requests it served. */
export interface RequestObserver {
  observe(labels: RequestLabels, status: number, ms: number): void;
}

/** A request to forward to a worker: `path` is the worker's (`/invocations`, `/v2/models/<name>/infer`, …). */
interface Call {
  readonly path: string;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: RequestBody;
}

/** An endpoint's shadow, when this request is one it mirrors. */
interface Mirror {
  readonly endpoint: string;
  readonly stats: ShadowStats;
}

/**
 * The single port for prediction traffic: forwards requests to a deployment's live replicas
 * (round robin), chooses deployments for endpoints, mirrors shadow traffic, and retries once on
 * another replica when a worker dies with the request in flight (predictions are idempotent).
 *
 * Bodies stream: a request body or an answer larger than {@link REPLAY_BYTES} goes on as it
 * arrives, at the pace the other side reads it, so that the gateway's memory does not grow
 * with the size of predictions. Each worker gets the deployment's `timeout` (plus a
 * margin) to answer once it has the whole body; after that the caller gets 504.
 *
 * It answers on plain node:http, ahead of the REST API's framework: every prediction goes
 * through here, and a router, hooks and reply objects per request would be paid on each. It runs
 * in the gateway process (gateway-main.ts), which outlives the control plane.
 */
export class Gateway {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });

  /** `version` is mldeploy's, for the OIP server metadata. */
  constructor(
    private readonly routes: Routes,
    private readonly metrics: RequestObserver,
    private readonly version: string,
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
      this.answer(request, response, true, () => this.oip(request, response, path));
      return true;
    }
    const invocations = INVOCATIONS.exec(path);
    if (invocations === null) return false;
    this.answer(request, response, false, async () => {
      requireMethod(request.method ?? '', ['POST'], path);
      const name = decodePathSegment(invocations[2]!);
      return invocations[1] === 'deployments'
        ? this.serve(request, response, name, '/invocations', 'direct')
        : this.viaEndpoint(request, response, name, '/invocations');
    });
    return true;
  }

  /** The Open Inference Protocol: server routes answered here, model routes by the deployment's workers. */
  private async oip(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    const route = matchOipRoute(path);
    if (route === undefined) throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `No route ${path}`);
    requireMethod(request.method ?? 'GET', oipMethods(route), path);
    if (route.kind === 'server') {
      const ready = this.routes.ready;
      if (route.action === 'metadata') sendJson(response, 200, oipServerMetadata(this.version));
      else if (route.action === 'live') sendJson(response, 200, { live: true });
      else sendJson(response, ready ? 200 : 503, { ready });
      return;
    }
    await this.serve(request, response, route.name, path, 'direct');
  }

  private answer(request: IncomingMessage, response: ServerResponse, oip: boolean, work: () => Promise<void>): void {
    work().catch((error: unknown) => {
      const typed = toMlDeployError(error);
      if (response.headersSent || response.destroyed) {
        response.destroy();
        return;
      }
      // A body still arriving (refused, or its deployment unknown) is not read to its end: the
      // connection closes after the answer instead.
      if (!request.complete) closeAfterAnswer(request, response);
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

  /** Routes a request to an endpoint (pin, sticky or weighted) and picks it for the shadow. */
  private async viaEndpoint(request: IncomingMessage, response: ServerResponse, name: string, path: string): Promise<void> {
    const route = this.routes.endpoint(name);
    if (route === undefined) throw missingEndpoint(name);
    const { config, shadow: stats } = route;
    const decision = chooseRoute(name, config, request.headers);
    const mirror = config.shadow !== null && stats !== undefined && Math.random() * 100 < config.shadow.percent;
    return this.serve(
      request,
      response,
      decision.deployment,
      path,
      `endpoint:${name}:${decision.rule}`,
      mirror ? { endpoint: name, stats } : undefined,
    );
  }

  /**
   * Forwards a request to deployment `name` and its answer back. `path` is the worker path
   * (`/invocations`, `/v2/models/<name>/infer`, …). The deployment is looked up before the body
   * is read: an unknown name is 404 and a body over its `max_body_size` 413, at once.
   */
  private async serve(
    request: IncomingMessage,
    response: ServerResponse,
    name: string,
    path: string,
    rule: string,
    mirror?: Mirror,
  ): Promise<void> {
    const runtime = this.routes.deployment(name);
    if (runtime === undefined) throw missingDeployment(name);
    if (runtime === null) throw noReplica(name);
    const body = await readBody(request, name, runtime.maxBodyBytes);
    const started = process.hrtime.bigint();
    const call: Call = { path, method: request.method ?? 'POST', headers: request.headers, body };
    const answer = await this.forward(runtime, call);
    const headers: OutgoingHttpHeaders = {
      'content-type': answer.headers['content-type'] ?? 'application/json',
      'x-mldeploy-deployment': name,
      'x-mldeploy-revision': String(runtime.revision.revision),
      'x-mldeploy-route': rule,
    };
    const length = answer.headers['content-length'];
    if (length !== undefined) headers['content-length'] = length;
    const status = answer.statusCode ?? 502;
    // The worker answered before the whole body came: the rest is not read to its end.
    if (!request.complete) closeAfterAnswer(request, response);
    const compare = mirror !== undefined && body.whole !== undefined && status === 200;
    // A small answer is read whole and sent in one write, as before streaming (the common case,
    // and the fast one); a NaN length (none given) is never small.
    if (Number(length) <= (compare ? SHADOW_ANSWER_BYTES : REPLAY_BYTES)) {
      const whole = await readAnswer(answer);
      response.writeHead(status, headers).end(whole);
      const ms = this.observe(runtime, rule, status, started);
      if (compare) void this.mirror(mirror, call, whole, ms);
      return;
    }
    await relay(answer, response.writeHead(status, headers));
    this.observe(runtime, rule, status, started);
  }

  /** Records a served request in the metrics; returns its milliseconds. */
  private observe(runtime: ServedRevision, rule: string, status: number, started: bigint): number {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    this.metrics.observe({ deployment: runtime.revision.deployment, revision: String(runtime.revision.revision), route: rule }, status, ms);
    return ms;
  }

  /** Sends a copy to the shadow and compares; its answer and failures never reach the caller. */
  private async mirror({ endpoint, stats }: Mirror, call: Call, primary: Buffer, primaryMs: number): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      const runtime = this.routes.deployment(stats.deployment);
      if (runtime === undefined) throw missingDeployment(stats.deployment);
      if (runtime === null) throw noReplica(stats.deployment);
      const answer = await this.forward(runtime, call);
      const status = answer.statusCode ?? 502;
      const ms = this.observe(runtime, `shadow:${endpoint}`, status, started);
      if (status !== 200 || !(Number(answer.headers['content-length']) <= SHADOW_ANSWER_BYTES)) {
        answer.resume();
        if (status !== 200) stats.recordError();
        return;
      }
      stats.record(JSON.parse(primary.toString()), JSON.parse((await readAnswer(answer)).toString()), primaryMs, ms);
    } catch {
      stats.recordError();
    }
  }

  /**
   * Sends a request to a replica of `runtime`; resolves with the worker's answer once its
   * headers arrived (the caller reads it). Only a broken connection to a worker is retried, on
   * another replica, and only for a body kept whole: an HTTP error is the model's answer, a
   * passed deadline would pass again, and a streamed body's bytes are gone.
   */
  private async forward(runtime: ServedRevision, call: Call): Promise<IncomingMessage> {
    const deployment = runtime.revision.deployment;
    let failed: Replica | undefined;
    for (let attempt = 0; ; attempt += 1) {
      const worker = runtime.pick(failed);
      if (worker === undefined) throw noReplica(deployment);
      try {
        return await this.send(worker, runtime, call);
      } catch (error) {
        if (error instanceof MlDeployError) throw error;
        if (attempt === 1 || call.body.whole === undefined) {
          throw new MlDeployError(
            'TEMPORARILY_UNAVAILABLE',
            `A replica of "${deployment}" failed while answering: ${(error as Error).message}`,
            {
              target: 'local',
              cause: error,
            },
          );
        }
        failed = worker;
      }
    }
  }

  /** One request to one worker, under the deployment's deadline. */
  private send(worker: Replica, runtime: ServedRevision, { path, method, headers, body }: Call): Promise<IncomingMessage> {
    const forwarded: Record<string, string> = {};
    for (const name of FORWARDED_HEADERS) {
      const value = headers[name];
      if (typeof value === 'string') forwarded[name] = value;
    }
    // Without a length, node:http sends the body chunked, as the caller did.
    const length = body.whole === undefined ? body.length : String(body.whole.length);
    if (length !== undefined) forwarded['content-length'] = length;
    const deadlineMs = runtime.timeoutMs + DEADLINE_MARGIN_MS;
    worker.inFlight += 1;
    return new Promise((resolve, reject) => {
      const upstream = httpRequest({ host: '127.0.0.1', port: worker.port, path, method, headers: forwarded, agent: this.agent }, resolve);
      let timer: NodeJS.Timeout | undefined;
      // 'close' comes once the answer has been read, or the connection failed: the worker is done with it.
      upstream.once('close', () => {
        clearTimeout(timer);
        worker.inFlight -= 1;
      });
      upstream.on('error', reject);
      // The deadline runs from the moment the worker has the whole body, as the worker's own does.
      const sent = (): void => {
        timer = setTimeout(() => upstream.destroy(deadlineExceeded(runtime.revision.deployment, deadlineMs)), deadlineMs);
      };
      if (body.whole !== undefined) {
        upstream.end(body.whole);
        sent();
      } else {
        streamBody(body, upstream, { deployment: runtime.revision.deployment, bytes: runtime.maxBodyBytes }, sent);
      }
    });
  }

  /** Closes the keep-alive connections to workers. */
  close(): void {
    this.agent.destroy();
  }
}

/**
 * Streams a worker's answer to the caller, at the pace the caller reads it. Rejects when the
 * worker's connection breaks mid-answer; a caller that goes away ends the worker's answer too.
 */
function relay(answer: IncomingMessage, response: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    answer.on('data', (chunk: Buffer) => {
      if (!response.write(chunk)) {
        answer.pause();
        response.once('drain', () => answer.resume());
      }
    });
    answer.once('end', () => {
      response.end();
      resolve();
    });
    answer.once('close', () => {
      if (!answer.complete) reject(new Error('the worker closed the connection mid-answer'));
    });
    response.once('close', () => {
      if (!answer.complete) answer.destroy();
    });
  });
}

/** Reads a whole answer (one whose Content-Length the caller checked). */
function readAnswer(answer: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => chunks.push(chunk));
    answer.once('end', () => resolve(Buffer.concat(chunks)));
    answer.once('close', () => {
      if (!answer.complete) reject(new Error('the worker closed the connection mid-answer'));
    });
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body));
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': payload.length });
  response.end(payload);
}

function deadlineExceeded(deployment: string, deadlineMs: number): MlDeployError {
  return new MlDeployError(
    'DEADLINE_EXCEEDED',
    `Deployment "${deployment}" did not answer within ${deadlineMs / 1000} s (its timeout setting plus ${DEADLINE_MARGIN_MS / 1000} s)`,
    {
      target: 'local',
      hint: `Raise it with 'mldeploy update -t local --name ${deployment} -C timeout=SECONDS', or see 'mldeploy logs -t local --name ${deployment}'.`,
    },
  );
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
