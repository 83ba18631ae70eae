import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isMlDeployError } from '@mldeploy/core';
import { SCHEMA_VERSION, StateStore, withoutSqliteWarning } from '../src/server/state-store.js';
import { CLI_BIN, REPO_ROOT } from '../../../test/support/paths.js';
import { cleanEnv } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';
import { mountSmallDisk, smallDiskUnavailable, type SmallDisk } from './small-disk.js';
import { revision, withDatabase } from './state-db.js';

function databaseFile(label: string): string {
  return path.join(tempDir(`state-${label}`), 'state.db');
}

const userVersion = (db: DatabaseSync): number => (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
const indexes = (db: DatabaseSync): string[] =>
  (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]
  ).map((r) => r.name);

/** The schema as the first versioned release made it (migration 1), at user_version `version`. */
const V1_SCHEMA = `
CREATE TABLE deployments (name TEXT PRIMARY KEY, revision INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT;
CREATE TABLE revisions (deployment TEXT NOT NULL, revision INTEGER NOT NULL, model_uri TEXT NOT NULL, model_dir TEXT NOT NULL, model_version TEXT, flavor TEXT NOT NULL, config TEXT NOT NULL, reason TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (deployment, revision)) STRICT;
CREATE TABLE endpoints (name TEXT PRIMARY KEY, config TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT;
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL) STRICT;
INSERT INTO deployments VALUES ('iris', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
INSERT INTO revisions VALUES ('iris', 1, 'models:/iris/1', '/models/iris', '1', 'onnx', '{"replicas":1}', 'create', '2026-01-01T00:00:00.000Z');
INSERT INTO audit (at, action, subject, detail) VALUES ('2026-01-01T00:00:00.000Z', 'create', 'iris', 'revision 1: create (models:/iris/1)');
`;

/** What opening a store on `file` threw: an MlDeployError, or the test fails. */
function openingError(file: string): unknown {
  try {
    new StateStore(file).close();
  } catch (error) {
    expect(isMlDeployError(error)).toBe(true);
    return error;
  }
  throw new Error(`Opening ${file} did not fail`);
}

describe('StateStore (node:sqlite)', () => {
  it('records revisions, endpoints and the audit log, and reads them back after a reopen', () => {
    const file = databaseFile('roundtrip');
    const store = new StateStore(file);
    expect(store.nextRevision('iris')).toBe(1);
    const first = store.commitRevision(revision('iris', 1), 'create');
    expect(first).toMatchObject({ ...revision('iris', 1), createdAt: expect.any(String) as string });
    store.commitRevision(revision('iris', 2), 'update');
    store.commitRevision(revision('wine', 1), 'create');
    store.putEndpoint('split', { traffic: { iris: 90, wine: 10 }, stickyHeader: null, shadow: null }, 'create-endpoint');
    store.close();

    const again = new StateStore(file);
    try {
      expect(again.deployments().map((d) => [d.name, d.revision])).toEqual([
        ['iris', 2],
        ['wine', 1],
      ]);
      expect(again.deployment('iris')).toMatchObject({ name: 'iris', revision: 2 });
      expect(again.deployment('nope')).toBeUndefined();
      expect(again.revision('iris', 1)).toEqual(first);
      expect(again.revisions('iris').map((r) => r.config)).toEqual([{ replicas: 1 }, { replicas: 2 }]);
      expect(again.nextRevision('iris')).toBe(3);
      expect(again.endpoint('split')?.config.traffic).toEqual({ iris: 90, wine: 10 });
      expect(again.endpoints().map((e) => e.name)).toEqual(['split']);
      again.deleteEndpoint('split');
      again.deleteDeployment('wine');
      expect(again.endpoints()).toEqual([]);
      expect(again.revisions('wine')).toEqual([]);
      expect(again.auditLog('iris').map((e) => e.detail)).toEqual([
        'revision 1: create (models:/iris/1)',
        'revision 2: update (models:/iris/2)',
      ]);
      expect(again.auditLog(undefined, 2).map((e) => e.action)).toEqual(['delete-endpoint', 'delete']);
      expect(Object.getPrototypeOf(again.auditLog()[0])).toBe(Object.prototype);
    } finally {
      again.close();
    }
    expect(withDatabase(file, (db) => (db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode)).toBe('wal');
  });

  it('a change that fails half way records nothing (one transaction; STRICT tables reject wrong types)', () => {
    const store = new StateStore(databaseFile('atomic'));
    try {
      store.commitRevision(revision('iris', 1), 'create');
      // The revision row is inserted, then the deployments upsert fails on STRICT's type check: both roll back.
      expect(() => store.commitRevision({ ...revision('iris', 2), revision: 'two' as unknown as number }, 'update')).toThrow(
        /cannot store TEXT value in INTEGER column/,
      );
      expect(() => store.commitRevision(revision('iris', 1), 'create')).toThrow(/UNIQUE constraint failed/);
      expect(store.deployment('iris')?.revision).toBe(1);
      expect(store.revisions('iris')).toHaveLength(1);
      expect(store.auditLog().map((e) => e.action)).toEqual(['create']);
      // The store is still usable after a rolled-back transaction.
      store.commitRevision(revision('iris', 2), 'update');
      expect(store.deployment('iris')?.revision).toBe(2);
    } finally {
      store.close();
    }
  });

  it('a new database gets every migration', () => {
    const file = databaseFile('new');
    new StateStore(file).close();
    withDatabase(file, (db) => {
      expect(userVersion(db)).toBe(SCHEMA_VERSION);
      expect(indexes(db)).toEqual(['audit_subject', 'rollouts_endpoint', 'rollouts_pending']);
    });
  });

  it.each([
    ['at the previous schema version', 1],
    ['made before versioning (user_version 0, tables present)', 0],
  ])('a database %s is migrated in place, its data kept and usable', (_what, version) => {
    expect(SCHEMA_VERSION).toBe(4);
    const file = databaseFile(`v${version}`);
    withDatabase(file, (db) => {
      db.exec(V1_SCHEMA);
      db.exec(`PRAGMA user_version = ${version}`);
    });
    const store = new StateStore(file);
    try {
      expect(store.deployment('iris')).toMatchObject({ name: 'iris', revision: 1 });
      expect(store.revision('iris', 1)?.config).toEqual({ replicas: 1 });
      expect(store.auditLog('iris').map((e) => e.action)).toEqual(['create']);
      // And usable: the next change lands beside the old rows.
      expect(store.nextRevision('iris')).toBe(2);
      store.commitRevision(revision('iris', 2), 'update');
      expect(store.revisions('iris').map((r) => r.modelUri)).toEqual(['models:/iris/1', 'models:/iris/2']);
      expect(store.auditLog('iris').map((e) => e.action)).toEqual(['create', 'update']);
    } finally {
      store.close();
    }
    withDatabase(file, (db) => {
      expect(userVersion(db)).toBe(SCHEMA_VERSION);
      expect(indexes(db)).toEqual(['audit_subject', 'rollouts_endpoint', 'rollouts_pending']);
      expect(
        (db.prepare("EXPLAIN QUERY PLAN SELECT id FROM audit WHERE subject = 'iris' ORDER BY id DESC").all() as { detail: string }[])
          .map((r) => r.detail)
          .join(' '),
      ).toMatch(/USING (COVERING )?INDEX audit_subject/);
    });
  });

  it('refuses a database from a newer mldeploy, and leaves it as it was', () => {
    const file = databaseFile('newer');
    withDatabase(file, (db) => db.exec(`CREATE TABLE future (x INTEGER) STRICT; PRAGMA user_version = ${SCHEMA_VERSION + 1}`));
    const before = readFileSync(file);
    const error = openingError(file);
    expect(error).toMatchObject({
      code: 'INVALID_STATE',
      message: `The local target's database ${file} has schema version ${SCHEMA_VERSION + 1}, newer than the ${SCHEMA_VERSION} this mldeploy knows: a newer mldeploy wrote it`,
      hint: expect.stringContaining('newer mldeploy') as string,
    });
    // Not one byte changed: not even the journal mode (a newer mldeploy may use another).
    expect(readFileSync(file).equals(before)).toBe(true);
    withDatabase(file, (db) => {
      expect(userVersion(db)).toBe(SCHEMA_VERSION + 1);
      expect(indexes(db)).toEqual([]);
    });
  });

  it('a corrupt file is reported with its path and not overwritten', () => {
    const file = databaseFile('corrupt');
    const garbage = 'this is not a database\n'.repeat(300);
    writeFileSync(file, garbage);
    expect(() => new StateStore(file)).toThrow(
      expect.objectContaining({
        code: 'INVALID_STATE',
        message: `The local target's database ${file} is damaged: file is not a database`,
        hint: expect.stringContaining(`move ${file}`) as string,
      }),
    );
    expect(readFileSync(file, 'utf8')).toBe(garbage);
  });
});

/** A database with three deployments, all in the main file (closing the last connection checkpoints the WAL). */
function seededDatabase(label: string): string {
  const file = databaseFile(label);
  const store = new StateStore(file);
  for (const name of ['iris', 'wine', 'digits']) store.commitRevision(revision(name, 1), 'create');
  store.close();
  return file;
}

/** Writes `bytes` at `offset` into page `page` (1-based) of `file`, as a failing disk or a stray write would. */
function damagePage(file: string, page: number, offset: number, bytes: Buffer): void {
  const pageSize = withDatabase(file, (db) => (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size);
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, (page - 1) * pageSize + offset);
  } finally {
    closeSync(fd);
  }
}

const rootPage = (file: string, name: string): number =>
  withDatabase(file, (db) => (db.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').get(name) as { rootpage: number }).rootpage);

describe('a damaged state.db (issue 8, finding 6)', () => {
  const hint = (file: string): string =>
    `With no control plane running, move ${file} (and state.db-wal, -shm if there) aside to start with no deployments, or put back a backup; 'sqlite3 ${file} "PRAGMA integrity_check"' lists the damage.`;

  it.each([
    // A valid but empty leaf page where the index of revisions was: lookups by key silently find
    // nothing (what made the control plane fail with "Cannot read properties of undefined").
    [
      'an index page that reads as empty',
      'sqlite_autoindex_revisions_1',
      0,
      Buffer.from([0x0a, 0, 0, 0, 0, 0x10, 0, 0]),
      /wrong # of entries in index sqlite_autoindex_revisions_1/,
    ],
    ['a table page overwritten inside', 'revisions', 8, Buffer.alloc(4000, 0x41), /Tree \d+ page \d+ cell \d+: Offset \d+ out of range/],
  ])(
    'with %s is refused at open: INVALID_STATE naming the file and what to do, the file left as it was',
    (_what, tree, offset, bytes, found) => {
      const file = seededDatabase('damaged');
      damagePage(file, rootPage(file, tree), offset, bytes);
      const before = readFileSync(file);
      const error = openingError(file);
      expect(error).toMatchObject({ code: 'INVALID_STATE', hint: hint(file), details: { file } });
      expect((error as Error).message).toMatch(new RegExp(`^The local target's database ${file} is damaged: PRAGMA quick_check found: `));
      expect((error as Error).message).toMatch(found);
      expect(readFileSync(file).equals(before)).toBe(true);
    },
  );

  it('damage met after the open is INVALID_STATE naming the file too, and reads of undamaged tables go on', () => {
    const file = seededDatabase('damaged-later');
    const store = new StateStore(file);
    try {
      damagePage(file, rootPage(file, 'revisions'), 8, Buffer.alloc(4000, 0x41));
      // Another connection's write makes the store's connection drop its page cache and read the file again.
      withDatabase(file, (db) => db.exec(`INSERT INTO endpoints VALUES ('e', '{}', 'now', 'now')`));
      expect(() => store.revisions('iris')).toThrow(
        expect.objectContaining({
          code: 'INVALID_STATE',
          message: `The local target's database ${file} is damaged: database disk image is malformed`,
          hint: hint(file),
        }),
      );
      expect(store.deployments().map((d) => d.name)).toEqual(['digits', 'iris', 'wine']);
    } finally {
      store.close();
    }
  });
});

const noSmallDisk = smallDiskUnavailable();

describe('state.db on a full disk (issue 8, finding 5)', () => {
  it.skipIf(noSmallDisk !== undefined)(
    `a change fails whole with a clear error, the store stays usable and takes the change once there is space${noSmallDisk === undefined ? '' : ` (skipped: ${noSmallDisk})`}`,
    () => {
      const disk = mountSmallDisk('state', 1024 * 1024) as SmallDisk;
      try {
        const file = path.join(disk.dir, 'state.db');
        const full: unknown = expect.objectContaining({
          code: 'INTERNAL_ERROR',
          message: `Cannot write ${file}: the disk is full; nothing was changed`,
          hint: `Free space on the disk that holds ${disk.dir} (see 'df -h ${disk.dir}'), then try again.`,
        });
        const store = new StateStore(file);
        try {
          store.commitRevision(revision('iris', 1), 'create');
          disk.fill();
          expect(() => store.commitRevision(revision('iris', 2), 'update')).toThrow(full);
          expect(() => store.putEndpoint('split', { traffic: { iris: 100 }, stickyHeader: null, shadow: null }, 'create-endpoint')).toThrow(
            full,
          );
          expect(() => store.deleteDeployment('iris')).toThrow(full);
          // Nothing of the failed changes was recorded, and reads go on.
          expect(store.deployment('iris')?.revision).toBe(1);
          expect(store.revisions('iris')).toHaveLength(1);
          expect(store.endpoints()).toEqual([]);
          expect(store.auditLog().map((e) => e.action)).toEqual(['create']);
          disk.free();
          store.commitRevision(revision('iris', 2), 'update');
          expect(store.deployment('iris')?.revision).toBe(2);
        } finally {
          store.close();
        }
        const again = new StateStore(file);
        try {
          expect(again.revisions('iris').map((r) => r.revision)).toEqual([1, 2]);
          expect(again.auditLog().map((e) => e.action)).toEqual(['create', 'update']);
        } finally {
          again.close();
        }
        disk.fill();
        expect(() => new StateStore(path.join(disk.dir, 'new.db'))).toThrow(
          expect.objectContaining({
            code: 'INTERNAL_ERROR',
            message: `Cannot write ${path.join(disk.dir, 'new.db')}: the disk is full; nothing was changed`,
          }),
        );
      } finally {
        disk.unmount();
      }
    },
  );
});

describe("node:sqlite's ExperimentalWarning", () => {
  it('withoutSqliteWarning drops exactly that warning, passes every other one on, and puts emitWarning back', () => {
    const calls: unknown[][] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const emitWarning = process.emitWarning;
    const recorder = (...args: unknown[]): void => void calls.push(args);
    process.emitWarning = recorder;
    try {
      const result = withoutSqliteWarning(() => {
        process.emitWarning('SQLite is an experimental feature and might change at any time', 'ExperimentalWarning');
        process.emitWarning('SQLite is an experimental feature and might change at any time', { type: 'ExperimentalWarning' });
        process.emitWarning('WASI is an experimental feature and might change at any time', 'ExperimentalWarning');
        process.emitWarning('SQLite is an experimental feature', 'SomeOtherWarning', 'CODE1');
        process.emitWarning('something else');
        return 42;
      });
      expect(result).toBe(42);
      // eslint-disable-next-line @typescript-eslint/unbound-method
      expect(process.emitWarning).toBe(recorder);
      expect(calls).toEqual([
        ['WASI is an experimental feature and might change at any time', 'ExperimentalWarning'],
        ['SQLite is an experimental feature', 'SomeOtherWarning', 'CODE1'],
        ['something else'],
      ]);
      expect(() =>
        withoutSqliteWarning(() => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
      // eslint-disable-next-line @typescript-eslint/unbound-method
      expect(process.emitWarning).toBe(recorder);
    } finally {
      process.emitWarning = emitWarning;
    }
  });

  // The CLI never loads node:sqlite itself; the control plane it starts does (logging to server.log).
  // MLDEPLOY_TEST_EXTRA_NODES (paths, ':'-separated) repeats this with other Node binaries, e.g. a
  // Node 22, the line that prints the warning.
  const nodes = [process.execPath, ...(process.env['MLDEPLOY_TEST_EXTRA_NODES']?.split(path.delimiter).filter(Boolean) ?? [])];
  it.each(nodes)('the CLI and the control plane it starts print none (%s)', async (node) => {
    const home = tempDir('warning');
    const run = (...args: string[]) =>
      promisify(execFile)(node, [CLI_BIN, ...args, '--home', home], { cwd: REPO_ROOT, env: cleanEnv(), timeout: 60_000 });
    try {
      const start = await run('server', 'start');
      const status = await run('server', 'status', '--json');
      expect(JSON.parse(status.stdout)).toMatchObject({ running: true });
      expect(start.stderr + status.stderr).not.toMatch(/Warning/);
    } finally {
      await run('server', 'stop');
    }
    const log = readFileSync(path.join(home, 'logs', 'server.log'), 'utf8');
    expect(log).toMatch(/control-plane/);
    expect(log).not.toMatch(/Warning/);
  });
});
