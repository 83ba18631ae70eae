import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createListener, type AddressInfo, type Server as Listener } from 'node:net';
import { MlDeployError, errorToBody, toMlDeployError } from '@mldeploy/core';
import { allowHeader, readBody, requireMethod } from '../http/read-body.js';
import { inferResponse, matchOipRoute, oipMethods, oipServerMetadata, parseInferRequest, type OipModelRoute } from './open-inference.js';
import { parseContentType } from './scoring-input.js';
import type { ServedModel } from './served-model.js';

/** Settings of a {@link ScoringServer}. */
export interface ScoringServerOptions {
  /** The model's name in the Open Inference Protocol routes. */
  readonly modelName: string;
  /** The model's version in those routes, when it has one (a registry version). */
  readonly modelVersion?: string | undefined;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /**
   * A second port this server also accepts on, shared with other processes serving the same
   * model (SO_REUSEPORT: the kernel spreads connections over them). Bound only once the warm-up
   * passed, so that it never hands a connection to a server that is not ready.
   */
  readonly sharedPort?: number | undefined;
  /** Largest request body accepted; larger ones get 413. */
  readonly maxBodyBytes: number;
  /** How long a request may take before it gets 504. */
  readonly requestTimeoutMs: number;
  /** When set, every route but the health probes needs `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /** mldeploy's version, reported by /version and /v2. */
  readonly serverVersion: string;
  /** Headers sent with every response (the local target names the deployment and revision that answered). */
  readonly responseHeaders?: Readonly<Record<string, string>> | undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** Whether `host` is a loopback address, where a server may run without a token. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

type Protocol = 'mlflow' | 'oip';

const READ = ['GET', 'HEAD'];

/**
 * The HTTP server in front of a {@link ServedModel}: MLflow's scoring protocol (`/ping`,
 * `/health`, `/version`, `/invocations`) and the Open Inference Protocol (`/v2/…`).
 *
 * It reports ready only after a warm-up inference succeeded, limits body size and request
 * time, and on {@link stop} finishes the requests in flight before releasing the model.
 */
export class ScoringServer {
  private server: Server | undefined;
  private shared: Listener | undefined;
  private ready = false;
  private inFlight = 0;
  private drained: (() => void) | undefined;

  /** No I/O: {@link start} listens and warms up. */
  constructor(
    private readonly model: ServedModel,
    private readonly options: ScoringServerOptions,
  ) {
    if (!isLoopback(options.host) && (options.token === undefined || options.token === '')) {
      throw new MlDeployError(
        'INVALID_PARAMETER_VALUE',
        `Refusing to serve on ${options.host} without a token: anyone who can reach it could use the model`,
        {
          hint: 'Set MLDEPLOY_SERVER_TOKEN (clients send it as "Authorization: Bearer <token>"), or bind 127.0.0.1.',
        },
      );
    }
  }

  /** Listens, then warms the model up; resolves with the base URL once ready. */
  async start(): Promise<string> {
    const server = createServer((request, response) => void this.handle(request, response));
    server.keepAliveTimeout = 75_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new MlDeployError('RESOURCE_CONFLICT', `Port ${this.options.port} on ${this.options.host} is already in use`, {
                hint: 'Pick another port with -p.',
                cause: error,
              })
            : error,
        ),
      );
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    try {
      await this.model.warmUp();
    } catch (error) {
      await this.stop();
      const cause = toMlDeployError(error);
      throw new MlDeployError(
        cause.code === 'INTERNAL_ERROR' ? 'INTERNAL_ERROR' : 'INVALID_STATE',
        `The model failed its warm-up prediction: ${cause.message}`,
        {
          cause: error,
          hint: "Check that the model's input example (serving_input_example.json) matches its signature.",
        },
      );
    }
    if (this.options.sharedPort !== undefined) {
      try {
        this.shared = await this.listenShared(server, this.options.sharedPort);
      } catch (error) {
        await this.stop();
        throw error;
      }
    }
    this.ready = true;
    return `http://${host}:${port}`;
  }

  /**
   * Accepts on `port` beside the other processes bound to it with SO_REUSEPORT, handing each
   * connection to the HTTP server. The kernel only shares a port between sockets of the same
   * user that all set the option, so no other user's process can join the group.
   */
  private async listenShared(server: Server, port: number): Promise<Listener> {
    const listener = createListener({ noDelay: true }, (socket) => server.emit('connection', socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new MlDeployError('RESOURCE_CONFLICT', `Port ${port} on ${this.options.host} is taken by another program`, {
                hint: 'Give the deployment another port (-C port=N, or 0 for a free one).',
                cause: error,
              })
            : error,
        ),
      );
      listener.listen({ port, host: this.options.host, reusePort: true }, () => resolve());
    });
    return listener;
  }

  /** How many requests are being answered now. */
  get activeRequests(): number {
    return this.inFlight;
  }

  /** The port listened on. */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /**
   * Stops taking requests, lets those in flight finish (up to `graceMs`), then closes every
   * connection and releases the model.
   */
  async stop(graceMs = 30_000): Promise<void> {
    this.ready = false;
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const shared = this.shared;
    this.shared = undefined;
    // The shared port first: from here on the kernel gives new connections to the other replicas.
    const sharedClosed = new Promise<void>((resolve) => (shared === undefined ? resolve() : shared.close(() => resolve())));
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (this.inFlight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    server.closeAllConnections();
    await Promise.all([closed, sharedClosed]);
    await this.model.close();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.inFlight += 1;
    // Only the path matters here: no query parameters are read, so no URL object per request.
    const path = (request.url ?? '/').split('?', 1)[0]!;
    const protocol: Protocol = path.startsWith('/v2') ? 'oip' : 'mlflow';
    try {
      await this.route(request, response, path);
    } catch (error) {
      this.sendError(response, toMlDeployError(error), protocol);
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  private async route(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    const method = request.method ?? 'GET';
    if (path === '/ping' || path === '/health') {
      requireMethod(method, READ, path);
      // MLflow answers "\n" with a JSON content type; kept for clients that compare bodies.
      return this.ready ? this.send(response, 200, '\n', method) : this.notReady();
    }
    const oip = matchOipRoute(path);
    if (oip?.kind === 'server' && oip.action !== 'metadata') {
      requireMethod(method, oipMethods(oip), path);
      if (oip.action === 'live') return this.sendJson(response, 200, { live: true }, method);
      return this.ready ? this.sendJson(response, 200, { ready: true }, method) : this.notReady();
    }
    this.authorize(request);
    if (path === '/version') {
      requireMethod(method, READ, path);
      return this.sendJson(response, 200, { version: this.options.serverVersion, server: 'mldeploy' }, method);
    }
    if (path === '/invocations') {
      requireMethod(method, ['POST'], path);
      if (!this.ready) this.notReady();
      const format = parseContentType(request.headers['content-type']);
      const body = await this.readBody(request);
      return this.sendJson(response, 200, await this.withTimeout(this.model.invocations(format, body)), method);
    }
    if (oip !== undefined) {
      requireMethod(method, oipMethods(oip), path);
      if (oip.kind === 'server') return this.sendJson(response, 200, oipServerMetadata(this.options.serverVersion), method);
      return this.routeModel(request, response, method, oip);
    }
    throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `No route ${method} ${path}`, {
      hint: 'Routes: GET /ping, /health, /version; POST /invocations; the Open Inference Protocol under /v2.',
    });
  }

  private async routeModel(request: IncomingMessage, response: ServerResponse, method: string, route: OipModelRoute): Promise<void> {
    const { name, version } = route;
    if (name !== this.options.modelName || (version !== undefined && version !== this.options.modelVersion)) {
      throw new MlDeployError(
        'RESOURCE_DOES_NOT_EXIST',
        `Model ${name}${version === undefined ? '' : ` version ${version}`} is not served here; this server serves ${this.options.modelName}${this.options.modelVersion === undefined ? '' : ` version ${this.options.modelVersion}`}`,
      );
    }
    if (route.action === 'metadata') {
      return this.sendJson(
        response,
        200,
        {
          name: this.options.modelName,
          versions: this.options.modelVersion === undefined ? [] : [this.options.modelVersion],
          platform: this.model.platform,
          inputs: this.model.inputs,
          outputs: this.model.outputs,
        },
        method,
      );
    }
    if (route.action === 'ready') {
      return this.sendJson(response, this.ready ? 200 : 503, { name: this.options.modelName, ready: this.ready }, method);
    }
    if (!this.ready) this.notReady();
    const inferRequest = parseInferRequest((await this.readBody(request)).toString('utf8'));
    const outputs = await this.withTimeout(this.model.infer(inferRequest.inputs, inferRequest.outputs));
    return this.sendJson(
      response,
      200,
      inferResponse(this.options.modelName, version ?? this.options.modelVersion, inferRequest.id, outputs),
      method,
    );
  }

  private notReady(): never {
    throw new MlDeployError('TEMPORARILY_UNAVAILABLE', 'The model is not ready', { hint: 'Retry once /ping answers 200.' });
  }

  private authorize(request: IncomingMessage): void {
    const token = this.options.token;
    if (token === undefined || token === '') return;
    const header = request.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    const expected = Buffer.from(token);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new MlDeployError('UNAUTHENTICATED', 'Missing or wrong bearer token', { hint: 'Send "Authorization: Bearer <token>".' });
    }
  }

  private readBody(request: IncomingMessage): Promise<Buffer> {
    return readBody(request, this.options.maxBodyBytes, 'Send smaller batches, or start the server with a larger --max-body-size.');
  }

  private withTimeout<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new MlDeployError('DEADLINE_EXCEEDED', `Request processing time exceeded limit (${this.options.requestTimeoutMs} ms)`, {
              hint: 'Send smaller batches, or raise --timeout.',
            }),
          ),
        this.options.requestTimeoutMs,
      );
    });
    // An inference that outlives its request still finishes; its result is dropped.
    work.catch(() => undefined);
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private sendError(response: ServerResponse, error: MlDeployError, protocol: Protocol): void {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    const body =
      protocol === 'oip' ? { error: error.message } : errorToBody(new MlDeployError(error.code, error.message, { hint: error.hint }));
    if (error.status === 413) response.setHeader('connection', 'close');
    const allow = allowHeader(error);
    if (allow !== undefined) response.setHeader('allow', allow);
    this.sendJson(response, error.status, body, 'POST');
  }

  private sendJson(response: ServerResponse, status: number, body: unknown, method: string): void {
    this.send(response, status, JSON.stringify(body), method);
  }

  private send(response: ServerResponse, status: number, text: string, method: string): void {
    const payload = Buffer.from(text);
    response.writeHead(status, { ...this.options.responseHeaders, 'content-type': 'application/json', 'content-length': payload.length });
    response.end(method === 'HEAD' ? undefined : payload);
  }
}
