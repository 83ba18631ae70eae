/**
 * The `remote` target plugin for mldeploy: manages model servers already running elsewhere.
 * It is discovered through the `mldeploy.targets` field of this package's package.json.
 *
 * @packageDocumentation
 */
import { TARGET_API_VERSION, defineTarget } from '@mldeploy/core';
import { RemoteDeploymentClient } from './remote-client.js';
import { runLocal } from './run-local.js';
import { targetHelp } from './target-help.js';

export { RemoteDeploymentClient } from './remote-client.js';

export default defineTarget({
  apiVersion: TARGET_API_VERSION,
  client: RemoteDeploymentClient,
  runLocal,
  targetHelp,
  capabilities: { endpoints: true },
});
