/**
 * The `sagemaker` target plugin for mldeploy: MLflow's SageMaker deployments (same URIs, config
 * keys and defaults), plus SageMaker's DeploymentConfig guardrails, endpoints as weighted
 * production variants, and streaming. Discovered through the `mldeploy.targets` field of this
 * package's package.json, like any third-party plugin.
 *
 * @packageDocumentation
 */
import { TARGET_API_VERSION, defineTarget } from '@mldeploy/core';
import { SageMakerDeploymentClient } from './target/sagemaker-client.js';
import { runLocal } from './target/run-local.js';
import { targetHelp } from './target/target-help.js';

export { SageMakerDeploymentClient } from './target/sagemaker-client.js';
export { IAM_ACTIONS } from './target/iam-policy.js';

export default defineTarget({
  apiVersion: TARGET_API_VERSION,
  client: SageMakerDeploymentClient,
  runLocal,
  targetHelp,
  capabilities: { endpoints: true, predictStream: true },
});
