/**
 * The gateway process: the home's public port. It answers predictions itself (deployments'
 * gateway paths, endpoints, `/v2`) by the routes its control plane pushes over
 * `run/gateway.sock`, and forwards everything else (the REST API, `/metrics`) to the control
 * plane over `run/api.sock`. Once its control plane has recorded it, it outlives that control
 * plane, even a SIGKILL: the next one adopts it. It stops on SIGTERM, finishing the requests it holds.
 *
 * It logs JSON lines on stdout (`logs/gateway.log`).
 */
import { createServer, type ServerResponse } from 'node:http';
import path from 'node:path';
import { pino } from 'pino';
import { MlDeployError, onTerminationSignal, toMlDeployError } from '@mldeploy/core';
import { ApiProxy } from './api-proxy.js';
import { GatewayControlServer } from './gateway-control-server.js';
import { GatewayMetrics } from './gateway-metrics.js';
import type { GatewayCall, GatewayKeep, GatewaySpec } from './gateway-protocol.js';
import { GatewayRoutes } from './gateway-routes.js';
import { Gateway } from './gateway.js';
import { loopbackHosts, refuseForeignHost } from './host-check.js';
import { serverOptions } from './http-limits.js';
import { createLogger, logLevelFrom } from './logger.js';
import { failedMessage, type WorkerMessage } from './worker-protocol.js';

/** How long a stopping gateway lets the requests it holds finish. */
const STOP_GRACE_MS = 30_000;
const DRAIN_POLL_MS = 5;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

const spec = JSON.parse(process.argv[2] ?? '{}') as GatewaySpec;
const log = createLogger(pino.destination({ dest: 1, sync: true }), { component: 'gateway' }, logLevelFrom(process.env));
process.stdout.on('error', () => undefined);
const routes = new GatewayRoutes();
const metrics = new GatewayMetrics(routes);
const gateway = new Gateway(routes, metrics, spec.version);
const proxy = new ApiProxy(path.join(spec.home, 'run', 'api.sock'), spec.home);
let url = '';
let allowed: ReadonlySet<string> = new Set();
/** The answers not yet finished or cut off: what a stop waits for. */
const inFlight = new Set<ServerResponse>();
const server = createServer(serverOptions(spec.limits), (request, response) => {
  inFlight.add(response);
  response.once('close', () => inFlight.delete(response));
  if (refuseForeignHost(request.headers.host, allowed, url, response)) return;
  if (!gateway.handle(request, response)) proxy.forward(request, response);
});
server.maxConnections = spec.limits.maxConnections;
let lastDropWarning = 0;
server.on('drop', () => {
  // One line per burst: a flood of refused connections must not flood the log too.
  if (Date.now() - lastDropWarning < 10_000) return;
  lastDropWarning = Date.now();
  log.warn(`refusing connections: ${spec.limits.maxConnections} are open (MLDEPLOY_HTTP_MAX_CONNECTIONS)`);
});

/** Resolves once no request is in flight to `ports`, or after `timeoutMs`. */
async function drain(ports: readonly number[], timeoutMs: number): Promise<null> {
  const deadline = Date.now() + timeoutMs;
  while (!routes.drained(ports) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  return null;
}

const control = new GatewayControlServer(path.join(spec.home, 'run', 'gateway.sock'), (call: GatewayCall) => {
  switch (call.type) {
    case 'routes':
      routes.apply(call.routes);
      return null;
    case 'drain':
      return drain(call.ports, call.timeoutMs);
    case 'shadows':
      return routes.shadows();
    case 'metrics':
      return metrics.json();
    case 'hello':
      return { pid: process.pid, port: Number(new URL(url).port), version: spec.version };
  }
});

let stopping = false;
async function stop(why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ event: 'stopping' }, `${why}: closing the port, finishing the requests in flight`);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Node's own idea of an idle connection misses some: one whose last answer was cut off (a
  // client that aborted the dashboard's event stream but kept its socket) stays "busy", and
  // close() would wait the whole grace for it. Once no answer of ours is in flight, none is busy.
  const sweep = setInterval(() => {
    if (inFlight.size === 0) server.closeAllConnections();
  }, 50);
  const timer = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS).unref();
  await closed;
  clearInterval(sweep);
  clearTimeout(timer);
  await control.close();
  gateway.close();
  proxy.close();
  log.info({ event: 'stopped' }, 'gateway stopped');
  process.exit(0);
}

/** Set once the control plane has recorded this gateway: from then on, only SIGTERM stops it. */
let kept = false;
onTerminationSignal((signal) => void stop(signal), 'ignore');
process.on('message', (message: GatewayKeep) => {
  if (message.type === 'keep') kept = true;
});
process.on('disconnect', () => {
  if (!kept) void stop('the control plane went away while this gateway was starting');
  else log.info({ event: 'kept' }, 'serving on its own; a control plane talks to it over run/gateway.sock');
});

try {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(spec.port, spec.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : spec.port;
  url = `http://${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${port}`;
  allowed = loopbackHosts(url);
  await control.listen();
  log.info({ event: 'listening' }, `gateway for ${spec.home} listening on ${url}`);
  send({ type: 'ready', port });
} catch (error) {
  const typed =
    (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? new MlDeployError('RESOURCE_CONFLICT', `Port ${spec.port} on ${spec.host} is already in use`, {
          hint: 'Pick another with --port.',
          cause: error,
        })
      : toMlDeployError(error);
  stopping = true;
  log.error({ event: 'failed' }, `${typed.code}: ${typed.message}`);
  send(failedMessage(typed));
  process.disconnect?.();
  process.exitCode = 1;
}
