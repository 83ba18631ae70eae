import path from 'node:path';
import { ControlPlane } from './control-plane.js';
import { ControlPlaneServer } from './control-plane-server.js';
import { acquireServerLock, readServerInfo, releaseServerLock, writeServerInfo } from './server-home.js';
import { isLoopback } from '@mldeploy/serving';
import { MlDeployError } from '@mldeploy/core';

/** Settings of a control plane process. */
export interface RunServerOptions {
  readonly home: string;
  readonly host: string;
  /** 0: reuse the port of the last run when it is free, else any free port. */
  readonly port: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cacheDir: string;
  readonly mlflowCommand: string;
  readonly version: string;
  readonly log: (line: string) => void;
}

/**
 * Runs the local target's control plane until `stop()`: takes the home's lock, opens the state,
 * listens, brings back every recorded deployment, then reports ready.
 */
export async function runServer(options: RunServerOptions): Promise<{ url: string; stop: () => Promise<void>; stopped: Promise<void> }> {
  if (!isLoopback(options.host)) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `The control plane binds loopback only (got ${options.host}); its API has no authentication yet`, { hint: 'Use --host 127.0.0.1.' });
  }
  await ControlPlane.prepareHome(options.home);
  acquireServerLock(options.home);
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  try {
    const previous = await readServerInfo(options.home);
    const plane = new ControlPlane({ home: options.home, env: options.env, cacheDir: options.cacheDir, mlflowCommand: options.mlflowCommand, serverVersion: options.version, gatewayUrl: '', log: options.log });
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        options.log('control plane stopping');
        await server.close();
        await plane.shutdown();
        releaseServerLock(options.home);
        resolveStopped();
      })();
      return stopping;
    };
    const server = new ControlPlaneServer(plane, { version: options.version, home: options.home }, () => void stop());
    let url: string;
    try {
      url = await server.listen(options.host, options.port === 0 && previous !== undefined ? previous.port : options.port);
    } catch (error) {
      if (options.port !== 0 || previous === undefined) throw error;
      url = await server.listen(options.host, 0);
    }
    plane.setGatewayUrl(url);
    await writeServerInfo(options.home, { pid: process.pid, url, port: Number(new URL(url).port), version: options.version, startedAt: new Date().toISOString() });
    options.log(`control plane for ${options.home} listening on ${url}; state in ${path.join(options.home, 'state.db')}`);
    await plane.recover();
    server.markReady();
    options.log('control plane ready');
    return { url, stop, stopped };
  } catch (error) {
    releaseServerLock(options.home);
    throw error;
  }
}
