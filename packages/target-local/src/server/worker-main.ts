/**
 * A model worker: one process serving one replica of one revision on a loopback port. The
 * control plane starts it with an IPC channel; the worker exits when that channel closes, so a
 * control plane that dies (even by SIGKILL) leaves no orphans behind.
 *
 * Its own log records are pino JSON lines on stdout; the control plane files them, with their
 * levels, in the deployment's log.
 */
import { pino } from 'pino';
import { errorToBody, onTerminationSignal, toMlDeployError } from '@mldeploy/core';
import { loadServedModel, ScoringServer } from '@mldeploy/serving';
import { createLogger, logLevelFrom } from './logger.js';
import type { WorkerMessage, WorkerSpec } from './worker-protocol.js';

function send(message: WorkerMessage): void {
  process.send?.(message);
}

const spec = JSON.parse(process.argv[2] ?? '{}') as WorkerSpec;
// Synchronous: the lines before an exit (or a native abort) are the ones that explain it.
const log = createLogger(pino.destination({ dest: 1, sync: true }), {}, logLevelFrom(process.env));
let server: ScoringServer | undefined;
let stopping = false;

async function stop(code: number, why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ event: 'stopping' }, `${why}: finishing ${server?.activeRequests ?? 0} request(s) in flight`);
  await server
    ?.stop()
    .catch((error: unknown) => log.warn({ event: 'stopping' }, `stopping the scoring server failed: ${toMlDeployError(error).message}`));
  process.exit(code);
}

// Ignore repeats: a Ctrl-C reaches the whole process group while the control plane also sends
// SIGTERM, and the worker must still drain its requests.
onTerminationSignal((signal) => void stop(0, signal), 'ignore');
process.on('disconnect', () => void stop(0, 'the control plane went away'));

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
    // The same headers as through the gateway, so that callers of the deployment's own URL see what answered.
    responseHeaders: { 'x-mldeploy-deployment': spec.name, 'x-mldeploy-revision': String(spec.revision), 'x-mldeploy-route': 'direct' },
  });
  await server.start();
  send({ type: 'ready', port: server.port });
} catch (error) {
  const typed = toMlDeployError(error);
  log.error({ event: 'failed' }, `${typed.code}: ${typed.message}`);
  const body = errorToBody(typed);
  send({
    type: 'failed',
    error: { error_code: body.error_code, message: body.message, ...(typed.hint === undefined ? {} : { hint: typed.hint }) },
  });
  process.disconnect?.();
  process.exitCode = 1;
}
