/**
 * The `local` target: a control plane on this machine (SQLite state, one worker process per
 * replica, one prediction gateway) behind mldeploy's deployment client. The default export is the
 * target plugin; the named exports manage the control plane process for the CLI's `server`
 * commands.
 *
 * @packageDocumentation
 */
export { default } from './local-target/local-target.js';
export { ensureServer, runningServer, stopServer } from './local-target/server-launcher.js';
export { readServerInfo, type ServerInfo } from './server/server-home.js';
export { LocalDeploymentClient } from './local-target/local-client.js';
export type { RemoteTargetFeed } from './server/api-schema.js';
export { serveControlPlane, type ServeControlPlaneOptions } from './server/serve-control-plane.js';
