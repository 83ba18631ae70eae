/**
 * mldeploy's serving runtime: resolve a model URI, load the model, serve it over HTTP with
 * MLflow's scoring protocol and the Open Inference Protocol.
 *
 * @packageDocumentation
 */
export { probeLoopbackPort } from './http/ports.js';
export { allowHeader, decodePathSegment, readBody, requireMethod } from './http/read-body.js';
export { withoutCredentials } from './models/credential-env.js';
export { mlflowConnectionFromEnv, type MlflowConnection } from './models/mlflow-connection.js';
export { readMlModel, type MlModel } from './models/mlmodel.js';
export { parseModelUri, type ModelSelector, type ModelUri } from './models/model-uri.js';
export { resolveModel, type DownloadProgress, type ModelResolverOptions, type ResolvedModel } from './models/model-resolver.js';
export { parseSignature, type ColumnSpec, type Schema, type Signature, type TensorSpec } from './models/signature.js';
export { parseCsv } from './serving/csv.js';
export { matchOipRoute, oipMethods, oipServerMetadata, type OipModelRoute } from './serving/open-inference.js';
export { SERVABLE_FLAVORS, chooseFlavor, loadServedModel } from './serving/load-served-model.js';
export type { PyfuncWorkerOptions } from './serving/pyfunc-model.js';
export { parseContentType, parseJsonRequest, type ScoringInput } from './serving/scoring-input.js';
export { ScoringServer, isLoopback, type ScoringMetrics, type ScoringServerOptions } from './serving/scoring-server.js';
export type { ServedModel, TensorMetadata } from './serving/served-model.js';
export {
  resolveAndLoadModel,
  serveModel,
  type LoadModelOptions,
  type ServeModelOptions,
  type ServingModel,
} from './serving/serve-model.js';
