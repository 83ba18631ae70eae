import { MlDeployError, TARGET_API_VERSION, defineTarget, resolveConfig } from '@mldeploy/core';
import { serveModel } from '@mldeploy/serving';
import { TARGET_LOCAL_VERSION } from '../version.js';
import { LocalDeploymentClient } from './local-client.js';

const HELP = `Target "local": serves models on this machine, managed by a control plane that keeps its
state in SQLite and supervises one worker process per replica.

Target URI
  local                  home ~/.mldeploy (state.db, logs/, cache/)
  local:/ABS/DIR         home /ABS/DIR
  The control plane starts on first use; 'mldeploy server start|stop|status' manage it.

Deployments
  -m MODEL_URI            a folder, runs:/…, models:/name@alias, models:/name/N (see docs/serving.md)
                          resolved and downloaded by this command, with this shell's MLFLOW_TRACKING_URI
                          and credentials; the control plane holds none
  -f onnx|python_function default: onnx when the model has it
  -C replicas=N           worker processes (default 1)
  -C timeout=SECONDS      per prediction (default 60)
  -C max_body_size=BYTES  per request (default 104857600)
  -C port=PORT            the deployment's own port, its URL (default: a free one, kept)
  -C mlflow_command=PATH  MLflow for python_function models (default: this shell's MLDEPLOY_MLFLOW)
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

explain
  Not supported: a local deployment serves MLflow's scoring protocol and the Open Inference
  Protocol, which answer predictions only; neither has an explanation route. Use 'mldeploy
  predict', and compute explanations (e.g. SHAP) from its predictions outside mldeploy.
`;

/** The built-in `local` target. */
export default defineTarget({
  apiVersion: TARGET_API_VERSION,
  client: LocalDeploymentClient,
  capabilities: { endpoints: true, rollouts: true },
  targetHelp: () => HELP,
  // Serves in this process, in the foreground, like `mldeploy models serve`, until `signal` aborts.
  async runLocal(name, modelUri, flavor, config, context) {
    const port = Number(config['port'] ?? 5000);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid port ${JSON.stringify(config['port'])}: a whole number from 0 to 65535`, {
        target: 'local',
      });
    }
    const served = await serveModel(resolveConfig({ env: context.env, cwd: context.cwd, homeDir: context.homeDir }), {
      modelUri,
      flavor,
      name,
      host: '127.0.0.1',
      port,
      maxBodyBytes: 100 * 1024 * 1024,
      timeoutSeconds: Number(context.env['MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT'] ?? 60),
      serverVersion: TARGET_LOCAL_VERSION,
    });
    context.log(`Serving ${served.name} (${served.model.flavor}) from ${modelUri} at ${served.url}`);
    if (context.signal !== undefined && !context.signal.aborted) {
      await new Promise<void>((resolve) => context.signal?.addEventListener('abort', () => resolve(), { once: true }));
    }
    context.log('Stopping: finishing requests in flight');
    await served.stop();
  },
});
