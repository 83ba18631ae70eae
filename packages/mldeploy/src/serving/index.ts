/**
 * mldeploy's serving runtime: resolve a model URI, load the model, serve it over HTTP with
 * MLflow's scoring protocol and the Open Inference Protocol.
 *
 * @packageDocumentation
 */
export { mlflowConnectionFromEnv, type MlflowConnection } from '../models/mlflow-connection.js';
export { readMlModel, type MlModel } from '../models/mlmodel.js';
export { parseModelUri, type ModelSelector, type ModelUri } from '../models/model-uri.js';
export { resolveModel, type DownloadProgress, type ModelResolverOptions, type ResolvedModel } from '../models/model-resolver.js';
export { parseSignature, type ColumnSpec, type Schema, type Signature, type TensorSpec } from '../models/signature.js';
export { parseCsv } from './csv.js';
export { SERVABLE_FLAVORS, loadServedModel } from './load-served-model.js';
export type { PyfuncWorkerOptions } from './pyfunc-model.js';
export { parseContentType, parseJsonRequest, type ScoringInput, type Table } from './scoring-input.js';
export { ScoringServer, isLoopback, type ScoringServerOptions } from './scoring-server.js';
export type { ServedModel, TensorMetadata } from './served-model.js';
