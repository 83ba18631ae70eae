import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireServerLock, writeServerInfo } from '../src/server/server-home.js';
import { StateStore, withoutSqliteWarning } from '../src/server/state-store.js';
import { runCli, type CliResult } from '../../../test/support/run-cli.js';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';
import { processesOfHome } from '../../../test/support/processes.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { mountSmallDisk, smallDiskUnavailable, type SmallDisk } from './small-disk.js';
import { IRIS, IRIS_INPUT } from './support.js';

const { DatabaseSync } = withoutSqliteWarning(() => process.getBuiltinModule('node:sqlite'));

/** The pids of the control-plane processes serving `home` (the background process the client starts). */
function controlPlanes(home: string): number[] {
  return processesOfHome(home, 'server-main.js');
}

/** The pids of the live child processes of `parent`. */
function childrenOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return state !== 'Z' && Number(ppid) === parent;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A deployment recorded in `home`'s state, as `create` would have left it. */
function recordDeployment(home: string, name: string, modelDir: string, flavor: string): void {
  const store = new StateStore(path.join(home, 'state.db'));
  try {
    store.commitRevision(
      {
        deployment: name,
        revision: 1,
        modelUri: modelDir,
        modelDir,
        modelVersion: null,
        flavor,
        config: { replicas: 1 },
        reason: 'create',
      },
      'create',
    );
  } finally {
    store.close();
  }
}

const cli = (args: string[], env: Record<string, string> = {}): Promise<CliResult> => runCli(args, { env, timeoutMs: 60_000 });

/** Stops what a test left running in `home`, by pid (a control plane that is still starting has no API to stop it with). */
async function stopControlPlanes(home: string): Promise<void> {
  for (const pid of controlPlanes(home)) process.kill(pid, 'SIGTERM');
  await waitFor(`the control planes of ${home} to exit`, () => (controlPlanes(home).length === 0 ? true : undefined));
}

const homes: string[] = [];
afterEach(async () => {
  for (const home of homes.splice(0)) await stopControlPlanes(home);
});

function newHome(label: string): string {
  const home = tempDir(`faults-${label}`);
  homes.push(home);
  return home;
}

describe('a control plane that cannot start (issue 8, finding 6)', () => {
  it('a damaged state.db: each command fails at once with INVALID_STATE naming the file and what to do, and leaves no control plane', async () => {
    const home = newHome('damaged');
    for (const name of ['iris', 'wine', 'digits']) recordDeployment(home, name, IRIS, 'onnx');
    const file = path.join(home, 'state.db');
    // The index of revisions now reads as empty: lookups of revisions silently find nothing.
    const rootpage = (() => {
      const db = new DatabaseSync(file);
      try {
        return (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_revisions_1'").get() as { rootpage: number })
          .rootpage;
      } finally {
        db.close();
      }
    })();
    const bytes = readFileSync(file);
    Buffer.from([0x0a, 0, 0, 0, 0, 0x10, 0, 0]).copy(bytes, (rootpage - 1) * 4096);
    writeFileSync(file, bytes);

    const message = `error: INVALID_STATE: The mldeploy control plane for ${home} could not start: The local target's database ${file} is damaged: PRAGMA quick_check found: wrong # of entries in index sqlite_autoindex_revisions_1`;
    const hint = `With no control plane running, move ${file} (and state.db-wal, -shm if there) aside to start with no deployments, or put back a backup; 'sqlite3 ${file} "PRAGMA integrity_check"' lists the damage. Its log: ${path.join(home, 'logs', 'server.log')}.`;
    for (const args of [
      ['server', 'start', '--home', home],
      ['list', '-t', `local:${home}`],
    ]) {
      const result = await cli(args);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain(`${message} — ${hint}`);
      // The control plane exited, and gave up its lock as it did: nothing is left to serve or to be waited for.
      expect(controlPlanes(home)).toEqual([]);
      expect(existsSync(path.join(home, 'server.lock'))).toBe(false);
    }
    expect(readFileSync(file).equals(bytes)).toBe(true);
  });

  it('state that fails once the control plane listens: it closes its port, stops, and gives up its lock only as it exits', async () => {
    const home = newHome('inconsistent');
    recordDeployment(home, 'iris', IRIS, 'onnx');
    recordDeployment(home, 'wine', IRIS, 'onnx');
    // Well-formed (quick_check passes), but "iris" serves a revision that is not there.
    const db = new DatabaseSync(path.join(home, 'state.db'));
    db.exec("UPDATE deployments SET revision = 7 WHERE name = 'iris'");
    db.close();
    const result = await cli(['server', 'start', '--home', home]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(
      `error: INVALID_STATE: The mldeploy control plane for ${home} could not start: The local target's database ${path.join(home, 'state.db')} is damaged: deployment "iris" serves revision 7, which is not in it`,
    );
    const { url } = JSON.parse(readFileSync(path.join(home, 'server.json'), 'utf8')) as { url: string };
    expect(
      await fetch(`${url}/api/v1/health`).then(
        (r) => r.status,
        () => 'refused',
      ),
    ).toBe('refused');
    expect(controlPlanes(home)).toEqual([]);
    expect(existsSync(path.join(home, 'server.lock'))).toBe(false);
  });

  /** A home whose one deployment never finishes loading: its control plane stays "starting". */
  function homeThatNeverStarts(label: string): { home: string; env: Record<string, string>; log: string } {
    const home = newHome(label);
    // A model served by MLflow whose "mlflow" never answers: the control plane stays "starting" while it waits for it.
    // It ends with its worker: a worker stopped while its model loads does not stop MLflow's server.
    const bin = tempDir('slow-mlflow');
    writeFileSync(path.join(bin, 'mlflow'), '#!/bin/sh\nwhile kill -0 $PPID 2>/dev/null; do sleep 0.5; done\n');
    chmodSync(path.join(bin, 'mlflow'), 0o755);
    recordDeployment(home, 'slow', path.join(FIXTURE_MODELS, 'pyfunc-sleepy'), 'python_function');
    const env = { MLDEPLOY_MLFLOW: path.join(bin, 'mlflow'), MLDEPLOY_SERVER_START_TIMEOUT: '2' };
    return { home, env, log: path.join(home, 'logs', 'server.log') };
  }

  it('one that is not ready in time: the command gives up at the deadline naming the log, and the next waits for it rather than start another', async () => {
    const { home, env, log } = homeThatNeverStarts('slow');
    const first = await cli(['server', 'start', '--home', home], env);
    expect(first.code, first.stderr).toBe(1);
    const [pid] = controlPlanes(home);
    expect(first.stderr).toContain(
      `error: DEADLINE_EXCEEDED: The mldeploy control plane for ${home} did not become ready within 2 s — It goes on starting (pid ${pid}; see ${log}): run the command again to wait for it, set MLDEPLOY_SERVER_START_TIMEOUT (seconds) to wait longer, or stop it with 'kill ${pid}'.`,
    );
    const second = await cli(['list', '-t', `local:${home}`], env);
    expect(second.code, second.stderr).toBe(1);
    expect(second.stderr).toContain(`Waiting for the mldeploy control plane for ${home} (pid ${pid}) to finish starting (log: ${log})`);
    expect(second.stderr).toContain('DEADLINE_EXCEEDED');
    expect(controlPlanes(home)).toEqual([pid]);
  });

  it('stopped (SIGTERM) while it starts, as the hint says: it stops its starting workers and its gateway, and gives up its lock', async () => {
    const { home, env, log } = homeThatNeverStarts('stopped-starting');
    expect((await cli(['server', 'start', '--home', home], env)).code).toBe(1);
    const [pid] = controlPlanes(home);
    await waitFor('the worker to be loading its model', () => (processesOfHome(home, 'worker-main.js').length > 0 ? true : undefined));
    process.kill(pid!, 'SIGTERM');
    await waitFor('every process of the home to exit', () => (processesOfHome(home).length === 0 ? true : undefined));
    expect(existsSync(path.join(home, 'server.lock'))).toBe(false);
    expect(readFileSync(log, 'utf8')).toContain('control plane stopped');
    // The next start is a fresh one, not a takeover of a dead control plane's lock.
    const next = await cli(['server', 'status', '--home', home, '--json'], env);
    expect(JSON.parse(next.stdout)).toMatchObject({ running: false });
  });

  it.each([
    ['not a number', 'soon'],
    ['zero', '0'],
  ])('MLDEPLOY_SERVER_START_TIMEOUT that is %s is refused before anything starts', async (_what, value) => {
    const home = newHome('bad-timeout');
    const result = await cli(['server', 'start', '--home', home], { MLDEPLOY_SERVER_START_TIMEOUT: value });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `error: INVALID_PARAMETER_VALUE: MLDEPLOY_SERVER_START_TIMEOUT must be a number of seconds above 0; got "${value}" — Unset it for the default (60).`,
    );
    expect(controlPlanes(home)).toEqual([]);
  });
});

const noSmallDisk = smallDiskUnavailable();
const skipped = noSmallDisk === undefined ? '' : ` (skipped: ${noSmallDisk})`;

describe.skipIf(noSmallDisk !== undefined)(`a full disk (issue 8, finding 5)${skipped}`, () => {
  const disks: SmallDisk[] = [];
  afterEach(async () => {
    // What runs there first: a disk is unmounted only once nothing uses it.
    for (const home of homes.splice(0)) await stopControlPlanes(home);
    for (const disk of disks.splice(0)) disk.unmount();
  });

  /** A home on a small disk of its own; its logs elsewhere, so that the control plane can still say what happened. */
  function homeOnSmallDisk(label: string): { home: string; disk: SmallDisk } {
    const disk = mountSmallDisk(label, 2 * 1024 * 1024) as SmallDisk;
    disks.push(disk);
    const home = path.join(disk.dir, 'home');
    mkdirSync(home, { mode: 0o700 });
    symlinkSync(tempDir(`${label}-logs`), path.join(home, 'logs'));
    homes.push(home);
    return { home, disk };
  }

  const diskFull = (file: string): string =>
    `Cannot write ${file}: the disk is full; nothing was changed — Free space on the disk that holds ${path.dirname(file)} (see 'df -h ${path.dirname(file)}'), then try again.`;

  it('server.json and the lock: a failed write says the disk is full and leaves no temp file, no empty lock, the old server.json as it was', async () => {
    const { home, disk } = homeOnSmallDisk('home-files');
    const info = { pid: 1, url: 'http://127.0.0.1:1', port: 1, version: '0', startedAt: 'then', token: 't' };
    await writeServerInfo(home, info);
    const before = readFileSync(path.join(home, 'server.json'), 'utf8');
    disk.fill();
    await expect(writeServerInfo(home, { ...info, pid: 2 })).rejects.toThrow(
      expect.objectContaining({ code: 'INTERNAL_ERROR', message: diskFull(path.join(home, 'server.json')).split(' — ')[0] }),
    );
    expect(() => acquireServerLock(home)).toThrow(
      expect.objectContaining({ code: 'INTERNAL_ERROR', message: diskFull(path.join(home, 'server.lock')).split(' — ')[0] }),
    );
    expect(readdirSync(home).sort()).toEqual(['logs', 'server.json']);
    expect(readFileSync(path.join(home, 'server.json'), 'utf8')).toBe(before);
  });

  it.each([
    ['at its first write (the lock)', 'server.lock', false],
    ['once it listens (server.json)', 'server.json', true],
  ])(
    'a start that finds the disk full %s fails with a disk-space error and leaves no process, no lock and no temp file',
    async (_when, file, afterListen) => {
      const { home, disk } = homeOnSmallDisk('start');
      recordDeployment(home, 'iris', IRIS, 'onnx');
      // Room for the lock and no more: a page freed after the disk is full. An open connection keeps
      // state.db's WAL files (made now), so that opening the state needs no new space either.
      const ballast = path.join(disk.dir, 'ballast');
      writeFileSync(ballast, '.');
      const db = afterListen ? new DatabaseSync(path.join(home, 'state.db')) : undefined;
      db?.exec('PRAGMA user_version');
      disk.fill();
      if (afterListen) rmSync(ballast);
      try {
        const result = await cli(['server', 'start', '--home', home]);
        expect(result.code, result.stderr).toBe(1);
        expect(result.stderr).toContain(
          `error: INTERNAL_ERROR: The mldeploy control plane for ${home} could not start: ${diskFull(path.join(home, file))} Its log: ${path.join(home, 'logs', 'server.log')}.`,
        );
      } finally {
        db?.close();
      }
      expect(controlPlanes(home)).toEqual([]);
      // No lock, no server.json, no temp file: the logs, and run/ empty if the state was opened (the log socket is gone).
      const left = readdirSync(home).filter((name) => !name.startsWith('state.db'));
      expect(left.filter((name) => name !== 'run')).toEqual(['logs']);
      if (left.includes('run')) expect(readdirSync(path.join(home, 'run'))).toEqual([]);
      const listened = /listening on (http:\/\/\S+)"/.exec(readFileSync(path.join(home, 'logs', 'server.log'), 'utf8'));
      expect(listened !== null).toBe(afterListen);
      if (listened !== null)
        expect(
          await fetch(`${listened[1]}/api/v1/health`).then(
            (r) => r.status,
            () => 'refused',
          ),
        ).toBe('refused');
    },
  );

  it('a change fails with a disk-space error; the control plane keeps serving the old revision with no stray workers, and takes the change once there is space', async () => {
    const { home, disk } = homeOnSmallDisk('running');
    const target = `local:${home}`;
    const created = await cli(['create', '-t', target, '--name', 'iris', '-m', IRIS, '--json']);
    expect(created.code, created.stderr).toBe(0);
    const [plane] = controlPlanes(home);
    const workers = childrenOf(plane!);
    const { url } = JSON.parse(created.stdout) as { url: string };
    disk.fill();

    for (const args of [
      ['update', '-t', target, '--name', 'iris', '-C', 'replicas=2'],
      ['delete', '-t', target, '--name', 'iris'],
      ['create-endpoint', '-t', target, '--endpoint', 'split', '-C', 'traffic={"iris": 100}'],
    ]) {
      const result = await cli(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(1);
      expect(result.stderr).toContain(`error: INTERNAL_ERROR: ${diskFull(path.join(home, 'state.db'))}`);
    }
    const history = JSON.parse((await cli(['history', '-t', target, '--name', 'iris', '--json'])).stdout) as { revision: number }[];
    expect(history.map((r) => r.revision)).toEqual([1]);
    expect(controlPlanes(home)).toEqual([plane]);
    expect(childrenOf(plane!).sort()).toEqual(workers.sort());
    const prediction = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(IRIS_INPUT),
    });
    expect(prediction.status).toBe(200);

    disk.free();
    const updated = await cli(['update', '-t', target, '--name', 'iris', '-C', 'replicas=2', '--json']);
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ revision: 2, replicas: 2 });
  });
});
