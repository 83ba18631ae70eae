/**
 * The `kubernetes` target plugin for mldeploy: models served on Kubernetes, as KServe
 * InferenceServices or as Deployments running mldeploy's own serving runtime. Discovered through
 * the `mldeploy.targets` field of this package's package.json, like any third-party plugin.
 *
 * @packageDocumentation
 */
import { TARGET_API_VERSION, defineTarget } from '@mldeploy/core';
import { KubernetesDeploymentClient } from './target/kubernetes-client.js';
import { runLocal } from './target/run-local.js';
import { targetHelp } from './target/target-help.js';

export { KubernetesDeploymentClient } from './target/kubernetes-client.js';
export { RBAC_RULES, type RbacRule } from './target/rbac.js';

export default defineTarget({
  apiVersion: TARGET_API_VERSION,
  client: KubernetesDeploymentClient,
  runLocal,
  targetHelp,
  capabilities: { endpoints: false },
});
