import { closeSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { MlDeployError } from '@mldeploy/core';
import { isZombie } from './process-identity.js';
import { logRotationFrom, shiftRotations } from './rotating-file.js';
import { diskFull, isDiskFull } from './storage-errors.js';

const serverInfoSchema = z.object({
  pid: z.number().int(),
  url: z.string(),
  port: z.number().int(),
  version: z.string(),
  startedAt: z.string(),
  /**
   * The API's bearer token, new at each start. The file is 0600 in a 0700 home: only the user who
   * runs the control plane can read it, so only they can call the API. Absent from the info of a
   * control plane of an earlier version.
   */
  token: z.string().optional(),
});

/** What a running control plane publishes in its home, for clients to find it. */
export type ServerInfo = Readonly<z.infer<typeof serverInfoSchema>>;

const serverInfoFile = (home: string): string => path.join(home, 'server.json');
const lockFile = (home: string): string => path.join(home, 'server.lock');

/** The published server info, or undefined when there is none (or it is unreadable or not server info). */
export async function readServerInfo(home: string): Promise<ServerInfo | undefined> {
  try {
    const parsed = serverInfoSchema.safeParse(JSON.parse(await readFile(serverInfoFile(home), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Publishes `info` in one step (a temp file renamed over server.json), so that a reader never
 * sees half of it. When the write fails, the temp file is removed and the previous server.json
 * stays as it was.
 */
export async function writeServerInfo(home: string, info: ServerInfo): Promise<void> {
  const file = serverInfoFile(home);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw isDiskFull(error) ? diskFull(file, error) : error;
  }
}

/** The file name of the control plane's process entry (server-main.ts, built). */
export const SERVER_MAIN_FILE = 'server-main.js';

/**
 * Whether `pid` is a live mldeploy control plane. A killed process can linger as a zombie until
 * reaped, and a dead one's pid can be reused: on Linux both are told apart through /proc.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    if (isZombie(pid)) return false;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    // `mldeploy server run` in the foreground, or the background process the client starts.
    return (cmdline.includes('server') && cmdline.includes('run')) || cmdline.some((arg) => arg.endsWith(SERVER_MAIN_FILE));
  } catch {
    return true;
  }
}

/**
 * The pid of another live control plane that holds the home's lock, when one does: it runs, or
 * it is starting (it takes the lock first, and gives it up only as it exits).
 */
export function serverLockOwner(home: string): number | undefined {
  let owner: number;
  try {
    owner = Number(readFileSync(lockFile(home), 'utf8').trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner) ? owner : undefined;
}

/** Creates the lock file holding this process's pid; false when it exists. */
function createLockFile(home: string): boolean {
  let fd: number;
  try {
    fd = openSync(lockFile(home), 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw isDiskFull(error) ? diskFull(lockFile(home), error) : error;
  }
  try {
    writeSync(fd, String(process.pid));
  } catch (error) {
    // An empty lock file would name no owner: take it away again.
    unlinkSync(lockFile(home));
    throw isDiskFull(error) ? diskFull(lockFile(home), error) : error;
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Takes the home's single-server lock (a file holding the owner's pid). A lock whose owner is
 * dead (a control plane killed with SIGKILL) is taken over.
 *
 * @throws MlDeployError `RESOURCE_CONFLICT` when another live control plane holds it.
 */
export function acquireServerLock(home: string): void {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    if (createLockFile(home)) return;
    const owner = serverLockOwner(home);
    if (owner !== undefined) {
      throw new MlDeployError('RESOURCE_CONFLICT', `A control plane for ${home} is already running (pid ${owner})`, {
        target: 'local',
        hint: `Use it (mldeploy server status --home ${home}), or stop it first with 'mldeploy server stop --home ${home}'.`,
      });
    }
    rmSync(lockFile(home), { force: true });
  }
  throw new MlDeployError('RESOURCE_CONFLICT', `Could not take the lock ${lockFile(home)}`, { target: 'local' });
}

/**
 * Releases the lock, if this process holds it. The server info stays: clients check health
 * before trusting it, and the next start reuses its port so that deployment URLs stay stable.
 */
export function releaseServerLock(home: string): void {
  try {
    if (Number(readFileSync(lockFile(home), 'utf8').trim()) === process.pid) unlinkSync(lockFile(home));
  } catch {
    // Already gone.
  }
}

/**
 * Rotates the control plane's own log (`logs/server.log`) when it has outgrown the log size limit
 * (`MLDEPLOY_LOG_MAX_BYTES`, as deployments' logs), before a start. The control plane writes it
 * through the descriptor it is started with, so it is rotated between runs, not while one writes.
 */
export function rotateServerLog(file: string, env: Readonly<Record<string, string | undefined>>): void {
  const limits = logRotationFrom(env);
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return;
  }
  if (size > limits.maxBytes) shiftRotations(file, limits.keep);
}
