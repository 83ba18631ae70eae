import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createListener, type AddressInfo, type ListenOptions, type Server as Listener, type Socket } from 'node:net';
import { MlDeployError, errorToBody, mlflowErrorClass, toMlDeployError, type ErrorBody } from '@mldeploy/core';
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
  /**
   * Lets the server bind beyond loopback without a `token`: anyone who reaches it may use
   * the model. Only for a server behind a platform that authenticates callers itself and is the
   * only way in, such as SageMaker's front end (IAM, SigV4), which sends no token of its own.
   * Safe by default: without it, such a bind is refused. A token, when set, is still required.
   */
  readonly allowUnauthenticated?: boolean | undefined;
  /** mldeploy's version, reported by /version and /v2. */
  readonly serverVersion: string;
  /** Headers sent with every response (the local target names the deployment and revision that answered). */
  readonly responseHeaders?: Readonly<Record<string, string>> | undefined;
  /** When set, every prediction is counted here, and `GET /metrics` answers its JSON. */
  readonly metrics?: ScoringMetrics | undefined;
}

/** Where a {@link ScoringServer} counts its predictions (the local target aggregates its workers'). */
export interface ScoringMetrics {
  /** One answered prediction: whether it came in on the shared port, its status, its time. */
  observe(shared: boolean, status: number, seconds: number): void;
  /** The counts so far, as JSON text. */
  render(): Promise<string>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** The header that may carry the server token instead of `Authorization: Bearer`. */
const TOKEN_HEADER = 'x-mldeploy-token';

/** Whether `host` is a loopback address, where a server may run without a token. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

type Protocol = 'mlflow' | 'oip';

/** How long a stopping server waits for idle keep-alive connections on the shared port to bring a last request. */
const LINGER_MS = 1_000;

const READ = ['GET', 'HEAD'];

/**
 * The HTTP server in front of a {@link ServedModel}: MLflow's scoring protocol (`/ping`,
 * `/health`, `/version`, `/invocations`) and the Open Inference Protocol (`/v2/…`).
 *
 * It reports ready only after a warm-up inference succeeded, limits body size and request
 * time, and on {@link stop} finishes the requests in flight before releasing the model.
 */
export class ScoringServer {
  private http: Server | undefined;
  /** The own port's listener, then the shared port's when there is one. */
  private listeners: Listener[] = [];
  /** Open connections, with how many requests each has in flight. */
  private readonly requestsOn = new Map<Socket, number>();
  private allClosed: (() => void) | undefined;
  private ready = false;
  /** Predictions are answered: from the end of the warm-up until the model is released (so also while stopping). */
  private serving = false;
  /** Stopping: no new connections, but requests on open ones are still answered (and their connection closed). */
  private draining = false;
  private inFlight = 0;
  private drained: (() => void) | undefined;

  /** No I/O: {@link start} listens and warms up. */
  constructor(
    private readonly model: ServedModel,
    private readonly options: ScoringServerOptions,
  ) {
    if (!isLoopback(options.host) && (options.token === undefined || options.token === '') && options.allowUnauthenticated !== true) {
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
    const http = createServer((request, response) => void this.handle(request, response));
    http.keepAliveTimeout = 75_000;
    this.http = http;
    const { host } = this.options;
    const own = await this.listen(http, { port: this.options.port, host }, () => ({
      message: `Port ${this.options.port} on ${host} is already in use`,
      hint: 'Pick another port with -p.',
    }));
    this.listeners.push(own);
    const { port } = own.address() as AddressInfo;
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
    const sharedPort = this.options.sharedPort;
    if (sharedPort !== undefined) {
      // The kernel only shares a port between sockets of one user that all ask for it, so no
      // other user's process can join the group.
      try {
        this.listeners.push(
          await this.listen(http, { port: sharedPort, host, reusePort: true }, () => ({
            message: `Port ${sharedPort} on ${host} is taken by another program`,
            hint: 'Give the deployment another port (-C port=N, or 0 for a free one).',
          })),
        );
      } catch (error) {
        await this.stop();
        throw error;
      }
    }
    this.ready = true;
    this.serving = true;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /**
   * A listener handing its connections to the HTTP server. The server never listens itself: its
   * close() would drop idle keep-alive connections at once, racing a client about to reuse one.
   */
  private async listen(http: Server, options: ListenOptions, inUse: () => { message: string; hint: string }): Promise<Listener> {
    const listener = createListener({ noDelay: true }, (socket) => {
      this.requestsOn.set(socket, 0);
      socket.once('close', () => {
        this.requestsOn.delete(socket);
        if (this.requestsOn.size === 0) this.allClosed?.();
      });
      http.emit('connection', socket);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new MlDeployError('RESOURCE_CONFLICT', inUse().message, { hint: inUse().hint, cause: error })
            : error,
        ),
      );
      listener.listen(options, () => resolve());
    });
    return listener;
  }

  /** How many requests are being answered now. */
  get activeRequests(): number {
    return this.inFlight;
  }

  /** The port listened on. */
  get port(): number {
    return (this.listeners[0]?.address() as AddressInfo | null)?.port ?? 0;
  }

  /**
   * Stops taking connections (the shared port first: from then on the kernel gives new
   * connections to the other processes on it), and `/ping` answers 503; predictions on open
   * connections are still answered as before. The first step of {@link stop}; a supervisor stopping
   * several replicas of one port calls it on all of them before any drains, so that a client sent
   * away from one never reconnects into the queue of another about to close its listener (the
   * kernel resets the connections queued there).
   */
  stopAccepting(): void {
    this.ready = false;
    for (const listener of this.listeners.reverse()) listener.close();
    this.listeners = [];
  }

  /**
   * Stops taking connections ({@link stopAccepting}) and drains: requests in flight finish (up
   * to `graceMs`), and so do requests that arrive meanwhile on open connections, each answered
   * with `Connection: close` so that its client moves to another replica cleanly. Idle
   * connections on the shared port get {@link LINGER_MS} to bring a request their client may
   * already be sending; then every connection is closed and the model released.
   */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopAccepting();
    const http = this.http;
    if (http === undefined) return;
    this.http = undefined;
    const waitFor = (register: (resolve: () => void) => void, ms: number): Promise<unknown> =>
      Promise.race([new Promise<void>(register), new Promise((resolve) => setTimeout(resolve, ms).unref())]);
    this.draining = true;
    if (this.inFlight > 0) await waitFor((resolve) => (this.drained = resolve), graceMs);
    // Idle connections of the private port are a proxy's, which sends nothing more to a replica it stopped using.
    for (const [socket, requests] of this.requestsOn) if (requests === 0 && socket.localPort !== this.options.sharedPort) socket.destroy();
    if (this.requestsOn.size > 0) await waitFor((resolve) => (this.allClosed = resolve), LINGER_MS);
    if (this.inFlight > 0) await waitFor((resolve) => (this.drained = resolve), graceMs);
    for (const socket of this.requestsOn.keys()) socket.destroy();
    this.requestsOn.clear();
    this.serving = false;
    await this.model.close();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.inFlight += 1;
    const socket = request.socket;
    this.requestsOn.set(socket, (this.requestsOn.get(socket) ?? 0) + 1);
    const started = this.options.metrics === undefined ? 0n : process.hrtime.bigint();
    // Only the path matters here: no query parameters are read, so no URL object per request.
    const path = (request.url ?? '/').split('?', 1)[0]!;
    const protocol: Protocol = path.startsWith('/v2') ? 'oip' : 'mlflow';
    try {
      await this.route(request, response, path);
    } catch (error) {
      this.sendError(response, toMlDeployError(error), protocol);
    } finally {
      this.inFlight -= 1;
      if (this.requestsOn.has(socket)) this.requestsOn.set(socket, this.requestsOn.get(socket)! - 1);
      if (this.inFlight === 0) this.drained?.();
      if (this.options.metrics !== undefined && request.method === 'POST') {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.options.metrics.observe(request.socket.localPort === this.options.sharedPort, response.statusCode, seconds);
      }
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
    if (path === '/metrics' && this.options.metrics !== undefined) {
      requireMethod(method, READ, path);
      return this.send(response, 200, await this.options.metrics.render(), method);
    }
    if (path === '/version') {
      requireMethod(method, READ, path);
      return this.sendJson(response, 200, { version: this.options.serverVersion, server: 'mldeploy' }, method);
    }
    if (path === '/invocations') {
      requireMethod(method, ['POST'], path);
      if (!this.serving) this.notReady();
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
    if (!this.serving) this.notReady();
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
    // X-MLDeploy-Token: for callers behind a proxy that consumes Authorization itself (the
    // Kubernetes API server's service proxy authenticates the caller with it, then drops it).
    const alternative = request.headers[TOKEN_HEADER];
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : typeof alternative === 'string' ? alternative : '');
    const expected = Buffer.from(token);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new MlDeployError('UNAUTHENTICATED', 'Missing or wrong bearer token', {
        hint: 'Send "Authorization: Bearer <token>" (or "X-MLDeploy-Token: <token>" through a proxy that uses Authorization itself).',
      });
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
    const body = protocol === 'oip' ? { error: error.message } : scoringErrorBody(error);
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
    response.writeHead(status, {
      ...this.options.responseHeaders,
      'content-type': 'application/json',
      'content-length': payload.length,
      ...(this.draining ? { connection: 'close' } : {}),
    });
    response.end(method === 'HEAD' ? undefined : payload);
  }
}

/**
 * The scoring protocol's error body: MLflow's fields (`error_code`, `message`, `error_class`,
 * `sqlstate`) and mldeploy's `hint`. Other details stay in the process. The error class is the
 * one the error carries (a schema error's, or MLflow's own from the pyfunc worker), else the one
 * MLflow derives from the code.
 */
function scoringErrorBody(error: MlDeployError): ErrorBody {
  const errorClass = error.details?.['error_class'];
  const details = mlflowErrorClass(error.code, typeof errorClass === 'string' ? errorClass : undefined);
  return errorToBody(new MlDeployError(error.code, error.message, { hint: error.hint, details: { ...details } }));
}
