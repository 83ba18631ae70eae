import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ControlPlane, type ControlPlaneOptions } from './control-plane.js';
import { ControlPlaneServer } from './control-plane-server.js';
import { GatewayProcess, gatewayFiles } from './gateway-process.js';
import type { GatewaySpec } from './gateway-protocol.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from './http-limits.js';
import { acquireServerLock, readServerInfo, releaseServerLock, writeServerInfo } from './server-home.js';
import { isLoopback } from '@mldeploy/serving';
import { MlDeployError, isMlDeployError, toMlDeployError } from '@mldeploy/core';

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
 * listens on `run/api.sock`, adopts the gateway process an earlier control plane left serving
 * (or starts one on the home's port), brings back every recorded deployment, then reports ready.
 *
 * A start that fails leaves nothing behind: the socket is closed, the workers and a gateway it
 * started are stopped before the lock is given up, so that no half-started control plane
 * lingers beside the next one. A gateway it adopted goes on serving.
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
        // The workers first, through the gateway (it drains them), then the gateway itself.
        await plane.shutdown();
        stoppingGateway = true;
        await gateway.stop();
        releaseServerLock(options.home);
        logger.info('control plane stopped');
        resolveStopped();
      })();
      return stopping;
    };
    const server = new ControlPlaneServer(
      plane,
      { version: options.serverVersion, home: options.home, token },
      logger,
      () => void stop(),
      options.httpLimits,
    );
    const started = await startGateway(options, previous?.port);
    let gateway = started.gateway;
    const adopted = started.adopted;
    let stoppingGateway = false;
    undo.unshift(async () => (adopted ? gateway.detach() : gateway.stop()));
    const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${gateway.port}`;
    await server.listen(gatewayFiles(options.home).api, url);
    undo.unshift(() => server.close());
    await plane.attach(gateway);
    await writeServerInfo(options.home, {
      pid: process.pid,
      url,
      port: gateway.port,
      version: options.serverVersion,
      startedAt: new Date().toISOString(),
      token,
    });
    await gateway.record();
    logger.info(`state in ${path.join(options.home, 'state.db')}; bringing back recorded deployments`);
    await plane.recover();
    await plane.markReady();
    server.markReady();
    // Recorded, and routing what this control plane serves: from now on it outlives this process.
    gateway.keep();
    // A gateway that dies (killed, or crashed) is started again on the same port: while it is
    // down, neither predictions nor the API (which it forwards) answer.
    const watch = (watched: GatewayProcess): void =>
      watched.onExit(() => {
        if (stoppingGateway) return;
        logger.error(`the gateway process (pid ${watched.pid}) exited; starting another on port ${watched.port}`);
        void restartGateway(watched.port).catch((error: unknown) =>
          logger.error({ err: error }, `the gateway could not be started again: ${toMlDeployError(error).message}`),
        );
      });
    const restartGateway = async (port: number): Promise<void> => {
      const next = await GatewayProcess.start(gatewaySpec(options, port), options.env);
      if (stoppingGateway) return next.stop();
      gateway = next;
      await plane.attach(next);
      await next.record();
      next.keep();
      watch(next);
      logger.info(`the gateway process (pid ${next.pid}) serves port ${port} again`);
    };
    watch(gateway);
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

/**
 * The gateway process: the one an earlier control plane left serving, when it still answers (and
 * serves the port asked for, if one was); else a new one, on the port asked for, or (0) the
 * last run's port when it is free, else any free port.
 */
async function startGateway(
  options: RunServerOptions,
  previousPort: number | undefined,
): Promise<{ gateway: GatewayProcess; adopted: boolean }> {
  const { logger } = options;
  const found = await GatewayProcess.adopt(options.home);
  if (found !== undefined && (options.port === 0 || found.port === options.port)) {
    logger.info(`adopted the gateway process (pid ${found.pid}) still serving port ${found.port}`);
    return { gateway: found, adopted: true };
  }
  await found?.stop();
  const start = (port: number): Promise<GatewayProcess> => GatewayProcess.start(gatewaySpec(options, port), options.env);
  if (options.port !== 0 || previousPort === undefined) return { gateway: await start(options.port), adopted: false };
  try {
    return { gateway: await start(previousPort), adopted: false };
  } catch (error) {
    if (!isMlDeployError(error) || error.code !== 'RESOURCE_CONFLICT') throw error;
    logger.info(`port ${previousPort} of the last run is taken; listening on a free one (deployment URLs change)`);
    return { gateway: await start(0), adopted: false };
  }
}

/** What a gateway process of this control plane serves: its home, on `port` (0: any free one). */
function gatewaySpec(options: RunServerOptions, port: number): GatewaySpec {
  return {
    home: options.home,
    host: options.host,
    port,
    version: options.serverVersion,
    limits: options.httpLimits ?? DEFAULT_HTTP_LIMITS,
  };
}
