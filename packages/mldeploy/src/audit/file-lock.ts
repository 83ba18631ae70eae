import { link, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { MlDeployError } from '@mldeploy/core';

/** How long a writer waits for another to finish its append. */
const WAIT_MS = 10_000;
/** A lock file that names no owner (its creator died before writing its pid) is stale after this. */
const ORPHAN_MS = 5_000;

/** Whether process `pid` runs (on this machine). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `lock` (a file holding this process's pid); false when another holds it. */
async function tryLock(lock: string): Promise<boolean> {
  try {
    const handle = await open(lock, 'wx', 0o600);
    try {
      await handle.writeFile(String(process.pid));
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Removes `lock` when its owner is gone (killed mid-append), so the next writer can take it. The
 * stale file is first moved aside under a name of this process's own (rename is atomic: of two
 * processes that found it stale, one moves it); what was moved is checked to be the very file
 * found stale, and a fresh lock moved by mistake (another process took the lock in between) is
 * put back where it was.
 */
async function clearStale(lock: string): Promise<void> {
  try {
    const seen = await stat(lock);
    const owner = Number((await readFile(lock, 'utf8')).trim());
    const orphan = !(Number.isInteger(owner) && owner > 0) && Date.now() - seen.mtimeMs > ORPHAN_MS;
    if (!orphan && !(Number.isInteger(owner) && owner > 0 && !alive(owner))) return;
    const aside = `${lock}.stale-${process.pid}-${Math.random().toString(16).slice(2)}`;
    await rename(lock, aside);
    const moved = await stat(aside);
    if (moved.ino === seen.ino && moved.mtimeMs === seen.mtimeMs) await rm(aside, { force: true });
    // Not the stale file but a writer's fresh lock: put it back. (Should a third writer have taken
    // the path in these microseconds, link fails and two writers append at once; verify reports it.)
    else await link(aside, lock).finally(() => rm(aside, { force: true }));
  } catch {
    // Released or taken meanwhile.
  }
}

/**
 * Runs `fn` holding `<file>.lock`, so that processes appending to `file` at once (two CLI
 * commands) take turns: each reads the last entry and appends its own while no other can.
 *
 * @throws MlDeployError `RESOURCE_CONFLICT` when another process holds it for longer than 10 s.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + WAIT_MS;
  while (!(await tryLock(lock))) {
    if (Date.now() > deadline) {
      throw new MlDeployError('RESOURCE_CONFLICT', `Another process holds ${lock} for longer than ${WAIT_MS / 1000} s`, {
        hint: `If no mldeploy command is running, remove ${lock}.`,
      });
    }
    await clearStale(lock);
    await sleep(20 + Math.random() * 30);
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}
