/**
 * A model worker: one process serving one replica of one revision on a loopback port. The
 * control plane starts it with an IPC channel; the worker exits when that channel closes, so a
 * control plane that dies (even by SIGKILL) leaves no orphans behind.
 */
import { errorToBody, toMlDeployError } from '../errors/index.js';
import { loadServedModel } from '../serving/load-served-model.js';
import { ScoringServer } from '../serving/scoring-server.js';
import { onShutdownSignal } from './shutdown-signal.js';
import type { WorkerMessage, WorkerSpec } from './worker-protocol.js';

function send(message: WorkerMessage): void {
  process.send?.(message);
}

const spec = JSON.parse(process.argv[2] ?? '{}') as WorkerSpec;
let server: ScoringServer | undefined;
let stopping = false;

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server?.stop().catch(() => undefined);
  process.exit(code);
}

// Ignore repeats: a Ctrl-C reaches the whole process group while the control plane also sends
// SIGTERM, and the worker must still drain its requests.
onShutdownSignal(() => void stop(0), 'ignore');
process.on('disconnect', () => void stop(0));

try {
  const model = await loadServedModel(spec.modelDir, {
    flavor: spec.flavor,
    pyfunc: { mlflowCommand: spec.mlflowCommand, env: process.env, startupTimeoutMs: 300_000, requestTimeoutSeconds: Math.ceil(spec.requestTimeoutMs / 1000) },
  });
  server = new ScoringServer(model, {
    modelName: spec.name,
    modelVersion: spec.version,
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: spec.maxBodyBytes,
    requestTimeoutMs: spec.requestTimeoutMs,
    serverVersion: spec.serverVersion,
  });
  await server.start();
  send({ type: 'ready', port: server.port });
} catch (error) {
  const typed = toMlDeployError(error);
  const body = errorToBody(typed);
  send({ type: 'failed', error: { error_code: body.error_code, message: body.message, ...(typed.hint === undefined ? {} : { hint: typed.hint }) } });
  process.disconnect?.();
  process.exitCode = 1;
}
