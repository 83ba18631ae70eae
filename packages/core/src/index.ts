/**
 * mldeploy's core: the deployment client contract, typed errors, target URIs, plugin discovery and
 * validation. This is what a target plugin depends on; it has no native dependency.
 *
 * @packageDocumentation
 */
export { GENESIS_HASH, auditHash, auditRecordSchema, sealAuditRecord, type AuditFields, type AuditRecord } from './audit/audit-record.js';
export { AuditChainVerifier, type AuditProblem, type AuditProblemKind, type AuditVerification } from './audit/audit-verifier.js';
export { canonicalJson } from './audit/canonical-json.js';
export { MASK, maskSecrets } from './audit/mask-secrets.js';
export { pollUntil, type PollOptions } from './async/poll-until.js';
export { isTransient, parseRetryAfter, retry, retryAfterMs, type RetryOptions } from './async/retry.js';
export { onTerminationSignal, terminationSignal, type RepeatedSignal } from './async/termination-signals.js';
export {
  BaseDeploymentClient,
  isDeploymentClientClass,
  type CreateDeploymentOptions,
  type DeleteDeploymentOptions,
  type Deployment,
  type DeploymentConfig,
  type Endpoint,
  type EndpointOption,
  type UpdateDeploymentOptions,
} from './contract/base-deployment-client.js';
export {
  DEPLOYMENTS_TARGET_ENV,
  getDeploymentsTarget,
  resetDeploymentsTarget,
  setDeploymentsTarget,
} from './contract/deployments-target.js';
export {
  brokenTargets,
  getDeployClient,
  installedTargets,
  runLocal,
  targetCapabilities,
  targetHelp,
  type BuiltInTarget,
  type ClientOptions,
} from './client/get-deploy-client.js';
export {
  CsvInput,
  SCORING_FORMAT_KEYS,
  encodeScoringRequest,
  type EncodedScoringRequest,
  type PredictionInput,
  type ScoringRequest,
} from './contract/prediction-input.js';
export {
  ROLLOUT_ACTIONS,
  rolloutGatesSchema,
  rolloutPolicySchema,
  rolloutStepSchema,
  type Rollout,
  type RolloutAction,
  type RolloutDecision,
  type RolloutPolicy,
  type RolloutRequest,
  type RolloutState,
} from './contract/rollout.js';
export { rolloutPhases, type RolloutPhase } from './contract/rollout-phases.js';
export { PredictionsResponse } from './contract/predictions-response.js';
export { columnsToTable, isRecord, maxOf, recordsToTable, type Table } from './contract/table.js';
export { homeFromTargetUri, isValidTargetName, parseTargetUri, type ParsedTargetUri } from './contract/target-uri.js';
export { RESOURCE_NAME_PATTERN, checkResourceName } from './contract/resource-names.js';
export { checkTrafficSplit, pickByWeight, type TrafficSplit } from './contract/traffic-split.js';
export { spawnProcessGroup, type ProcessGroup } from './process/process-group.js';
export { runInForeground, type ForegroundOutcome } from './process/run-in-foreground.js';
export { runMldeployCli, type MldeployRunContext } from './process/mldeploy-cli.js';
export { resolveModelLocation, type ModelLocation } from './models/model-location.js';
export { PLUGINS_ENV, resolveConfig, type ConfigSource, type PluginEntry, type ResolvedConfig } from './config/resolve-config.js';
export * from './errors/index.js';
export { httpRequest, type HttpRequestOptions, type HttpResponse } from './http/http-request.js';
export { PACKAGE_FIELD } from './plugins/discover-packages.js';
export type { BrokenTarget } from './plugins/plugin-registry.js';
export {
  SUPPORTED_TARGET_API_VERSIONS,
  TARGET_API_VERSION,
  defineTarget,
  type DeploymentClientClass,
  type DownloadProgress,
  type TargetCapabilities,
  type TargetContext,
  type TargetPlugin,
} from './plugins/target-plugin.js';
