/**
 * A model worker: one process serving one replica of one revision, on a loopback port of its
 * own and on its deployment's port (shared by the replicas). The control plane starts it with an
 * IPC channel and stops it with SIGTERM. Once it serves, it outlives its control plane: a control
 * plane killed even by SIGKILL leaves the data plane serving, and the next one adopts it (it
 * exits with the channel only while still starting, when nobody could adopt it).
 *
 * Its log records are pino JSON lines: on stdout while its control plane reads it, else over the
 * home's log socket to whichever control plane runs (WorkerLogLink).
 */
import { pino, type DestinationStream } from 'pino';
import { onTerminationSignal, toMlDeployError } from '@mldeploy/core';
import { loadServedModel, ScoringServer } from '@mldeploy/serving';
import { createLogger, logLevelFrom } from './logger.js';
import { WorkerLogLink } from './worker-log-link.js';
import { WorkerMetrics } from './worker-metrics.js';
import { failedMessage, type WorkerMessage, type WorkerSpec } from './worker-protocol.js';
import { processStart } from './process-identity.js';
import { WorkerRegistry, type WorkerEntry } from './worker-registry.js';

function send(message: WorkerMessage): void {
  process.send?.(message);
}

const spec = JSON.parse(process.argv[2] ?? '{}') as WorkerSpec;
// Synchronous: the lines before an exit (or a native abort) are the ones that explain it.
const stdout = pino.destination({ dest: 1, sync: true });
const link = new WorkerLogLink(spec.logSocket, { deployment: spec.name, revision: spec.revision, replica: spec.replica, pid: process.pid });
const destination: DestinationStream = {
  write: (line: string) => {
    if (!process.connected) return link.write(line);
    try {
      stdout.write(line);
    } catch {
      link.write(line);
    }
  },
};
const log = createLogger(destination, {}, logLevelFrom(process.env));
// With the control plane gone its pipes are too: writes to them fail, and must not take the worker down.
stdout.on('error', () => undefined);
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);
/** How long a worker that stopped accepting waits for the SIGTERM that drains it. */
const STOP_ACCEPTING_MAX_MS = 10_000;
let server: ScoringServer | undefined;
/** Set once the control plane knows this worker serves: from then on, only SIGTERM stops it. */
let serving = false;
let stopping = false;
const registry = new WorkerRegistry(spec.home);
/** This worker's entry in the registry, once written. */
let recorded: WorkerEntry | undefined;

async function stop(code: number, why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ event: 'stopping' }, `${why}: finishing ${server?.activeRequests ?? 0} request(s) in flight`);
  await server
    ?.stop()
    .catch((error: unknown) => log.warn({ event: 'stopping' }, `stopping the scoring server failed: ${toMlDeployError(error).message}`));
  if (recorded !== undefined) await registry.forget(recorded).catch(() => undefined);
  await link.close();
  process.exit(code);
}

// Ignore repeats: a Ctrl-C reaches the whole process group while the control plane also sends
// SIGTERM, and the worker must still drain its requests.
onTerminationSignal((signal) => void stop(0, signal), 'ignore');
// The first step of a stop (see ScoringServer.stopAccepting): the control plane sends it to every
// replica of a revision, sees their ports close, then sends SIGTERM. Should that never come (the
// control plane died meanwhile), the worker drains and exits on its own.
process.on('SIGUSR2', () => {
  server?.stopAccepting();
  setTimeout(() => void stop(0, 'no SIGTERM after SIGUSR2'), STOP_ACCEPTING_MAX_MS).unref();
});
process.on('disconnect', () => {
  if (!serving) void stop(0, 'the control plane went away while this worker was starting');
  else {
    link.open();
    log.warn({ event: 'orphaned' }, 'the control plane went away; still serving, for the next control plane to adopt');
  }
});

try {
  log.debug({ event: 'loading' }, `loading ${spec.modelDir} as ${spec.flavor}`);
  const model = await loadServedModel(spec.modelDir, {
    flavor: spec.flavor,
    pyfunc: {
      mlflowCommand: spec.mlflowCommand,
      env: process.env,
      startupTimeoutMs: 300_000,
      requestTimeoutSeconds: Math.ceil(spec.requestTimeoutMs / 1000),
    },
  });
  server = new ScoringServer(model, {
    modelName: spec.name,
    modelVersion: spec.version,
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: spec.maxBodyBytes,
    requestTimeoutMs: spec.requestTimeoutMs,
    serverVersion: spec.serverVersion,
    sharedPort: spec.sharedPort,
    metrics: new WorkerMetrics(spec.name, spec.revision),
    // The same headers as through the gateway, so that callers of the deployment's own URL see what answered.
    responseHeaders: { 'x-mldeploy-deployment': spec.name, 'x-mldeploy-revision': String(spec.revision), 'x-mldeploy-route': 'direct' },
  });
  await server.start();
  // Recorded by the worker itself, before it reports ready: a control plane killed at any moment
  // after that leaves an entry, so that the next one adopts this worker or stops it. (Recorded by
  // the control plane on `ready`, a kill in between left a serving worker nobody knew of.)
  const entry: WorkerEntry = {
    deployment: spec.name,
    revision: spec.revision,
    replica: spec.replica,
    pid: process.pid,
    port: server.port,
    started: processStart(process.pid),
  };
  await registry.record(entry).then(
    () => (recorded = entry),
    // Still served: only adoption after a control-plane crash is lost for this worker.
    (error: unknown) => log.warn({ event: 'registry' }, `could not record the worker for adoption: ${toMlDeployError(error).message}`),
  );
  send({ type: 'ready', port: server.port });
  serving = process.connected;
  if (!serving) await stop(0, 'the control plane went away while this worker was starting');
} catch (error) {
  const typed = toMlDeployError(error);
  log.error({ event: 'failed' }, `${typed.code}: ${typed.message}`);
  send(failedMessage(typed));
  process.disconnect?.();
  process.exitCode = 1;
}
