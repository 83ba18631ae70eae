import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlDeployError, pollUntil } from '@mldeploy/core';
import { withoutCredentials } from '@mldeploy/serving';
import { SERVER_MAIN_FILE, readServerInfo } from '../server/server-home.js';
import { ControlPlaneApi } from './control-plane-api.js';

const SERVER_MAIN = fileURLToPath(new URL(`../server/${SERVER_MAIN_FILE}`, import.meta.url));

/** The URL of the control plane serving `home`, or undefined when none is up. */
export async function runningServer(home: string): Promise<string | undefined> {
  const info = await readServerInfo(home);
  return info !== undefined && (await new ControlPlaneApi(info.url).health()) !== undefined ? info.url : undefined;
}

/**
 * Returns the URL of the control plane for `home`, starting one in the background when none is
 * running (its output goes to `<home>/logs/server.log`). Waits until it has brought back every
 * recorded deployment and answers health checks.
 */
export async function ensureServer(
  home: string,
  env: Readonly<Record<string, string | undefined>>,
  log: (line: string) => void,
  timeoutMs = 180_000,
): Promise<string> {
  const running = await runningServer(home);
  if (running !== undefined) return running;
  mkdirSync(path.join(home, 'logs'), { recursive: true, mode: 0o700 });
  const logFile = path.join(home, 'logs', 'server.log');
  log(`Starting the mldeploy control plane for ${home} (log: ${logFile})`);
  const out = openSync(logFile, 'a');
  // It outlives this command and serves what others send it: it gets no credentials (the client downloads models).
  const child = spawn(process.execPath, [SERVER_MAIN, '--home', home], {
    env: withoutCredentials(env),
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  const exit: { code: number | null } = { code: null };
  child.once('exit', (code) => (exit.code = code ?? 1));
  return pollUntil(
    async () => {
      const url = await runningServer(home);
      if (url !== undefined || exit.code === null) return url;
      // Another process may have started it first: that one serves as well.
      const other = await runningServer(home);
      if (other !== undefined) return other;
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
      throw new MlDeployError('INVALID_STATE', `The mldeploy control plane for ${home} exited at start (code ${exit.code}): ${tail}`, {
        target: 'local',
        hint: `See ${logFile}.`,
      });
    },
    {
      timeoutMs,
      minDelayMs: 50,
      maxDelayMs: 500,
      onTimeout: () =>
        new MlDeployError('DEADLINE_EXCEEDED', `The mldeploy control plane for ${home} did not become ready within ${timeoutMs / 1000} s`, {
          target: 'local',
          hint: `See ${logFile}.`,
        }),
    },
  );
}

/**
 * Stops the control plane serving `home` through its API and waits until its process is gone;
 * the deployments come back at its next start. Returns false when none was running.
 */
export async function stopServer(home: string, timeoutMs = 60_000): Promise<boolean> {
  const url = await runningServer(home);
  const info = await readServerInfo(home);
  if (url === undefined || info === undefined) return false;
  await new ControlPlaneApi(url, home).shutdown();
  await pollUntil(
    () => {
      try {
        process.kill(info.pid, 0);
        return undefined;
      } catch {
        return true;
      }
    },
    {
      timeoutMs,
      onTimeout: () =>
        new MlDeployError('DEADLINE_EXCEEDED', `The control plane (pid ${info.pid}) did not stop within ${timeoutMs / 1000} s`, {
          hint: `Kill it: kill ${info.pid}`,
        }),
    },
  );
  return true;
}
