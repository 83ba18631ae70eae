import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlDeployError } from '../errors/index.js';
import { TARGET_API_VERSION, defineTarget } from '../plugins/target-plugin.js';
import { LocalDeploymentClient } from './local-client.js';

const BIN = fileURLToPath(new URL('../../bin/mldeploy.js', import.meta.url));

const HELP = `Target "local": serves models on this machine, managed by a control plane that keeps its
state in SQLite and supervises one worker process per replica.

Target URI
  local                  home ~/.mldeploy (state.db, logs/, cache/)
  local:/ABS/DIR         home /ABS/DIR
  The control plane starts on first use; 'mldeploy server start|stop|status' manage it.

Deployments
  -m MODEL_URI            a folder, runs:/…, models:/name@alias, models:/name/N (see docs/serving.md)
  -f onnx|python_function default: onnx when the model has it
  -C replicas=N           worker processes (default 1)
  -C timeout=SECONDS      per prediction (default 60)
  -C max_body_size=BYTES  per request (default 104857600)
  create waits for a warm-up prediction. update starts the new revision beside the old one and
  switches traffic once it is ready; if it fails, the old one keeps serving.
  mldeploy history / rollback / logs --name NAME work on revisions and worker logs.

Endpoints
  -C traffic='{"a": 90, "b": 10}'               weights in percent, summing to 100
  -C sticky_header=x-user-id                     one caller stays on one side of the split
  -C shadow='{"deployment": "c", "percent": 20}' mirror traffic; compare in get-endpoint
  Requests may pin a deployment with the header x-mldeploy-deployment.

Gateway (one port for all predictions)
  POST /deployments/{name}/invocations, POST /endpoints/{name}/invocations,
  /v2/models/{name}/… (Open Inference Protocol). Responses carry x-mldeploy-deployment,
  x-mldeploy-revision and x-mldeploy-route.

run-local
  Serves one model in the foreground, like 'mldeploy models serve' (-C port=N, default 5000).
`;

/** The built-in `local` target. */
export default defineTarget({
  apiVersion: TARGET_API_VERSION,
  client: LocalDeploymentClient,
  capabilities: { endpoints: true },
  targetHelp: () => HELP,
  async runLocal(name, modelUri, flavor, config, context) {
    const rawPort = config['port'];
    const port = typeof rawPort === 'string' || typeof rawPort === 'number' ? String(rawPort) : '5000';
    const args = [BIN, 'models', 'serve', '-m', modelUri, '-p', port, '--name', name, ...(flavor === undefined ? [] : ['-f', flavor])];
    const child = spawn(process.execPath, args, { cwd: context.cwd, env: { ...context.env }, stdio: 'inherit' });
    const stop = (): void => void child.kill('SIGTERM');
    context.signal?.addEventListener('abort', stop, { once: true });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    context.signal?.removeEventListener('abort', stop);
    if (code !== 0 && context.signal?.aborted !== true) {
      throw new MlDeployError('INTERNAL_ERROR', `The model server exited with code ${code}`, { target: 'local', hint: `Its output above says why (${path.basename(BIN)} models serve).` });
    }
  },
});
