import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlDeployError, isErrorCode, pollUntil } from '@mldeploy/core';
import { withoutCredentials } from '@mldeploy/serving';
import { SERVER_MAIN_FILE, readServerInfo, rotateServerLog, serverLockOwner } from '../server/server-home.js';
import { ControlPlaneApi } from './control-plane-api.js';

const SERVER_MAIN = fileURLToPath(new URL(`../server/${SERVER_MAIN_FILE}`, import.meta.url));

/** The variable that sets how long a command waits for the control plane to become ready, in seconds. */
const START_TIMEOUT_ENV = 'MLDEPLOY_SERVER_START_TIMEOUT';
const DEFAULT_START_TIMEOUT_S = 60;

/** How long a command waits for a starting control plane: `MLDEPLOY_SERVER_START_TIMEOUT` seconds, else 60 s. */
function startTimeoutFrom(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env[START_TIMEOUT_ENV];
  if (raw === undefined || raw === '') return DEFAULT_START_TIMEOUT_S * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new MlDeployError(
      'INVALID_PARAMETER_VALUE',
      `${START_TIMEOUT_ENV} must be a number of seconds above 0; got ${JSON.stringify(raw)}`,
      {
        hint: `Unset it for the default (${DEFAULT_START_TIMEOUT_S}).`,
      },
    );
  }
  return seconds * 1000;
}

/** The URL of the control plane serving `home`, or undefined when none is up. */
export async function runningServer(home: string): Promise<string | undefined> {
  const info = await readServerInfo(home);
  return info !== undefined && (await new ControlPlaneApi(info.url).health()) !== undefined ? info.url : undefined;
}

/**
 * Returns the URL of the control plane for `home`, starting one in the background when none is
 * running (its output goes to `<home>/logs/server.log`), or waiting for the one that is starting.
 * Waits until it has brought back every recorded deployment and answers health checks, for at
 * most `timeoutMs` (`MLDEPLOY_SERVER_START_TIMEOUT` seconds in `env`, else 60 s).
 *
 * @throws MlDeployError with the control plane's own error (a damaged state.db is
 *   `INVALID_STATE`) when it exits before it is ready; `DEADLINE_EXCEEDED` when it is not ready in time.
 */
export async function ensureServer(
  home: string,
  env: Readonly<Record<string, string | undefined>>,
  log: (line: string) => void,
  timeoutMs = startTimeoutFrom(env),
): Promise<string> {
  const running = await runningServer(home);
  if (running !== undefined) return running;
  mkdirSync(path.join(home, 'logs'), { recursive: true, mode: 0o700 });
  const logFile = path.join(home, 'logs', 'server.log');
  if (serverLockOwner(home) === undefined) rotateServerLog(logFile, env);
  // Only what is logged from here on is about this start.
  const logFrom = sizeOf(logFile);
  const starting = serverLockOwner(home);
  let pid: number;
  /** How the control plane ended, once it has without becoming ready. */
  let exited: () => string | undefined;
  if (starting !== undefined) {
    // It holds the lock until it exits: a second one would only be refused.
    log(`Waiting for the mldeploy control plane for ${home} (pid ${starting}) to finish starting (log: ${logFile})`);
    pid = starting;
    exited = () => (serverLockOwner(home) === undefined ? `pid ${starting}` : undefined);
  } else {
    log(`Starting the mldeploy control plane for ${home} (log: ${logFile})`);
    const out = openSync(logFile, 'a');
    // It outlives this command and serves what others send it: it gets no credentials (the client downloads models).
    const child = spawn(process.execPath, [SERVER_MAIN, '--home', home], {
      env: withoutCredentials(env),
      detached: true,
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    child.unref();
    pid = child.pid ?? 0;
    let ended: string | undefined;
    child.once('exit', (code, signal) => (ended = code === null ? `signal ${signal}` : `code ${code}`));
    exited = () => ended;
  }
  return pollUntil(
    async () => {
      const url = await runningServer(home);
      const ended = exited();
      if (url !== undefined || ended === undefined) return url;
      // Another process may have started it first: that one serves as well.
      const other = await runningServer(home);
      if (other !== undefined) return other;
      // Or is still starting it: ours lost the race for the home's lock and exited; wait for that one.
      const owner = serverLockOwner(home);
      if (owner !== undefined && owner !== pid) {
        pid = owner;
        exited = () => (serverLockOwner(home) === undefined ? `pid ${owner}` : undefined);
        return undefined;
      }
      throw startFailure(home, logFile, logFrom, ended);
    },
    {
      timeoutMs,
      minDelayMs: 50,
      maxDelayMs: 500,
      onTimeout: () =>
        new MlDeployError('DEADLINE_EXCEEDED', `The mldeploy control plane for ${home} did not become ready within ${timeoutMs / 1000} s`, {
          target: 'local',
          hint:
            `It goes on starting (pid ${pid}; see ${logFile}): run the command again to wait for it, ` +
            `set ${START_TIMEOUT_ENV} (seconds) to wait longer, or stop it with 'kill ${pid}'.`,
        }),
    },
  );
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** What `file` gained past `from`, at most its last 64 KiB. */
function appended(file: string, from: number): string {
  const end = sizeOf(file);
  const start = Math.max(from, end - 64 * 1024);
  if (end <= start) return '';
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    const read = readSync(fd, buffer, 0, buffer.length, start);
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Why a control plane exited before it was ready: the error it logged as its last words
 * (server-main.ts writes it as one JSON line, hint included), else the last lines it logged.
 */
function startFailure(home: string, logFile: string, logFrom: number, ended: string): MlDeployError {
  const lines = appended(logFile, logFrom).trim().split('\n');
  for (const line of lines.slice(-5).reverse()) {
    let record: { error_code?: unknown; message?: unknown; hint?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      continue;
    }
    if (!isErrorCode(record.error_code) || typeof record.message !== 'string') continue;
    return new MlDeployError(record.error_code, `The mldeploy control plane for ${home} could not start: ${record.message}`, {
      target: 'local',
      hint: `${typeof record.hint === 'string' ? `${record.hint} ` : ''}Its log: ${logFile}.`,
    });
  }
  const tail = lines.slice(-3).join(' | ');
  return new MlDeployError(
    'INVALID_STATE',
    `The mldeploy control plane for ${home} exited before it was ready (${ended})${tail === '' ? '' : `: ${tail}`}`,
    { target: 'local', hint: `See ${logFile}.` },
  );
}

/**
 * Stops the control plane serving `home` through its API and waits until its process is gone;
 * the deployments come back at its next start. `actor`, the OS user asking, is who the audit
 * log records. Returns false when none was running.
 */
export async function stopServer(home: string, actor?: string, timeoutMs = 60_000): Promise<boolean> {
  const url = await runningServer(home);
  const info = await readServerInfo(home);
  if (url === undefined || info === undefined) return false;
  await new ControlPlaneApi(url, home, actor).shutdown();
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
