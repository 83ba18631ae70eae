/**
 * mldeploy: one deployment client for every ML serving platform.
 *
 * @packageDocumentation
 */
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
} from './client/base-deployment-client.js';
export { DEPLOYMENTS_TARGET_ENV, getDeploymentsTarget, resetDeploymentsTarget, setDeploymentsTarget } from './client/deployments-target.js';
export { getDeployClient, installedTargets, runLocal, targetHelp, type ClientOptions } from './client/get-deploy-client.js';
export {
  CsvInput,
  SCORING_FORMAT_KEYS,
  encodeScoringRequest,
  type EncodedScoringRequest,
  type PredictionInput,
  type ScoringRequest,
} from './client/prediction-input.js';
export { PredictionsResponse } from './client/predictions-response.js';
export { isValidTargetName, parseTargetUri, type ParsedTargetUri } from './client/target-uri.js';
export { PLUGINS_ENV, resolveConfig, type ConfigSource, type PluginEntry, type ResolvedConfig } from './config/resolve-config.js';
export * from './errors/index.js';
export { httpRequest, type HttpRequestOptions, type HttpResponse } from './http/http-request.js';
export { PACKAGE_FIELD } from './plugins/discover-packages.js';
export {
  SUPPORTED_TARGET_API_VERSIONS,
  TARGET_API_VERSION,
  defineTarget,
  type DeploymentClientClass,
  type TargetCapabilities,
  type TargetContext,
  type TargetPlugin,
} from './plugins/target-plugin.js';
