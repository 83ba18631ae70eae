import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ControlPlane, type ControlPlaneOptions } from './control-plane.js';
import { ControlPlaneServer } from './control-plane-server.js';
import type { HttpLimits } from './http-limits.js';
import { acquireServerLock, readServerInfo, releaseServerLock, writeServerInfo } from './server-home.js';
import { isLoopback } from '@mldeploy/serving';
import { MlDeployError, toMlDeployError } from '@mldeploy/core';

/** Settings of a control plane process. */
export interface RunServerOptions extends ControlPlaneOptions {
  readonly host: string;
  /** 0: reuse the port of the last run when it is free, else any free port. */
  readonly port: number;
  /** Timeouts and the connection cap of the HTTP port; the defaults when absent. */
  readonly httpLimits?: HttpLimits;
}

/**
 * Runs the local target's control plane until `stop()`: takes the home's lock, opens the state,
 * listens, brings back every recorded deployment, then reports ready.
 *
 * A start that fails leaves nothing behind: the port is closed and the workers stopped before the
 * lock is given up, so that no half-started control plane lingers beside the next one.
 */
export async function runServer(options: RunServerOptions): Promise<{ url: string; stop: () => Promise<void>; stopped: Promise<void> }> {
  if (!isLoopback(options.host)) {
    throw new MlDeployError(
      'INVALID_PARAMETER_VALUE',
      `The control plane binds loopback only (got ${options.host}); its API has no authentication yet`,
      { hint: 'Use --host 127.0.0.1.' },
    );
  }
  const { logger } = options;
  // The lock comes first: a second control plane must not touch the state of the first.
  await mkdir(options.home, { recursive: true, mode: 0o700 });
  acquireServerLock(options.home);
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  /** What a failed start undoes, the latest first. */
  const undo: (() => Promise<void>)[] = [];
  try {
    // The API's credential: only readers of the 0600 server.json (this user) can call the API.
    const token = randomBytes(32).toString('base64url');
    const plane = await ControlPlane.open(options);
    undo.unshift(() => plane.shutdown());
    const previous = await readServerInfo(options.home);
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        logger.info('control plane stopping');
        await server.close();
        await plane.shutdown();
        releaseServerLock(options.home);
        logger.info('control plane stopped');
        resolveStopped();
      })();
      return stopping;
    };
    const serve = async (port: number): Promise<{ server: ControlPlaneServer; url: string }> => {
      const candidate = new ControlPlaneServer(
        plane,
        { version: options.serverVersion, home: options.home, token },
        logger,
        () => void stop(),
        options.httpLimits,
      );
      try {
        return { server: candidate, url: await candidate.listen(options.host, port) };
      } catch (error) {
        await candidate.close();
        throw error;
      }
    };
    let started: { server: ControlPlaneServer; url: string };
    try {
      started = await serve(options.port === 0 && previous !== undefined ? previous.port : options.port);
    } catch (error) {
      if (options.port !== 0 || previous === undefined) throw error;
      logger.info(`port ${previous.port} of the last run is taken; listening on a free one (deployment URLs change)`);
      started = await serve(0);
    }
    const { server, url } = started;
    undo.unshift(() => server.close());
    await writeServerInfo(options.home, {
      pid: process.pid,
      url,
      port: Number(new URL(url).port),
      version: options.serverVersion,
      startedAt: new Date().toISOString(),
      token,
    });
    logger.info(`state in ${path.join(options.home, 'state.db')}; bringing back recorded deployments`);
    await plane.recover();
    server.markReady();
    logger.info('control plane ready');
    return { url, stop, stopped };
  } catch (error) {
    for (const step of undo) {
      await step().catch((failure: unknown) =>
        logger.error({ err: failure }, `cleaning up after a failed start: ${toMlDeployError(failure).message}`),
      );
    }
    releaseServerLock(options.home);
    throw error;
  }
}
