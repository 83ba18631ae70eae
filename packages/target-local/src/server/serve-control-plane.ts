import { onTerminationSignal, type ResolvedConfig } from '@mldeploy/core';
import { withoutCredentials } from '@mldeploy/serving';
import type { DestinationStream } from 'pino';
import { TARGET_LOCAL_VERSION } from '../version.js';
import { httpLimitsFrom } from './http-limits.js';
import { createLogger, logLevelFrom } from './logger.js';
import { logRotationFrom } from './rotating-file.js';
import { runServer } from './run-server.js';

/** Where and how a foreground control plane runs. */
export interface ServeControlPlaneOptions {
  readonly home: string;
  readonly host: string;
  /** 0: the port of the last run when it is free, else any free one. */
  readonly port: number;
  /** Where the control plane's JSON log lines go (stderr; logs/server.log in the background). */
  readonly logTo: DestinationStream;
}

/**
 * Runs the local target's control plane in the foreground until SIGINT or SIGTERM, then stops it
 * cleanly. Shared by `mldeploy server run` and the background process the client starts.
 */
export async function serveControlPlane(config: ResolvedConfig, options: ServeControlPlaneOptions): Promise<void> {
  const running = await runServer({
    home: options.home,
    host: options.host,
    port: options.port,
    // Its workers never hold the user's credentials, even when `server run` was started with them.
    env: withoutCredentials(config.env),
    mlflowCommand: config.mlflowCommand,
    serverVersion: TARGET_LOCAL_VERSION,
    // JSON lines, for machines first; MLDEPLOY_LOG_LEVEL sets the level.
    logger: createLogger(options.logTo, { component: 'control-plane' }, logLevelFrom(config.env)),
    logRotation: logRotationFrom(config.env),
    // MLDEPLOY_HTTP_* bound how long and how many clients may hold the port.
    httpLimits: httpLimitsFrom(config.env),
  });
  const dispose = onTerminationSignal(() => void running.stop());
  await running.stopped;
  dispose();
}
