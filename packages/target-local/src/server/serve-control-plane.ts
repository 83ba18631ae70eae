import path from 'node:path';
import type { ResolvedConfig } from '@mldeploy/core';
import { TARGET_LOCAL_VERSION } from '../version.js';
import { runServer } from './run-server.js';

/** Where and how a foreground control plane runs. */
export interface ServeControlPlaneOptions {
  readonly home: string;
  readonly host: string;
  /** 0: the port of the last run when it is free, else any free one. */
  readonly port: number;
  /** One line per event. */
  readonly log: (line: string) => void;
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
    env: config.env,
    // Without an explicit cache, models live in the home so that one folder holds a target.
    cacheDir: config.env['MLDEPLOY_CACHE_DIR'] === undefined ? path.join(options.home, 'cache', 'models') : config.cacheDir,
    mlflowCommand: config.mlflowCommand,
    version: TARGET_LOCAL_VERSION,
    // One JSON object per line: the control plane's log is for machines first.
    log: (line) => options.log(JSON.stringify({ time: new Date().toISOString(), level: 'info', component: 'control-plane', message: line })),
  });
  const stop = (): void => void running.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await running.stopped;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
}
