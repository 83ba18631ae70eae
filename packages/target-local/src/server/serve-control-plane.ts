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
  // Listening from the start: a signal while it starts (recovering deployments may take minutes)
  // stops it cleanly, instead of killing it with its lock still taken and its gateway running. A
  // second signal still ends it at once.
  let running: Awaited<ReturnType<typeof runServer>> | undefined;
  const stopping = new AbortController();
  const dispose = onTerminationSignal(() => {
    // Workers still starting stop now, so the start (or an update in flight) ends quickly.
    stopping.abort();
    void running?.stop();
  });
  try {
    running = await runServer({
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
      stopping: stopping.signal,
    });
    if (stopping.signal.aborted) void running.stop();
    await running.stopped;
  } finally {
    dispose();
  }
}
