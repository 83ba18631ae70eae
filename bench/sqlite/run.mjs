#!/usr/bin/env node
// bench/sqlite: the local target's state store on node:sqlite against better-sqlite3, measured on
// the store's real operations (the ones the control plane does on create/update, get, list,
// history, endpoints and delete, and opening a database), in one run, with the ratios.
//
// Rows:
//  - "StateStore (node:sqlite)": the real store, packages/mldeploy/dist/server/state-store.js.
//  - "better-sqlite3, old store": the store as it was on better-sqlite3 (same SQL, a statement
//    prepared per call, better-sqlite3's transaction()), copied below.
//  - "same code, node:sqlite" / "same code, better-sqlite3": one store written once against the
//    API both drivers share (cached statements, BEGIN IMMEDIATE), so that only the driver differs.
//
// better-sqlite3 is not a dependency of the project. Install it for a measurement, compiled for
// the Node that runs this (see bench/RESULTS.md), and point BETTER_SQLITE3 at its folder; without
// it the better-sqlite3 rows are skipped.
// Usage: npx node bench/sqlite/run.mjs [--rounds 5] [--scale 1]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { numberOption } from '../lib/load.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const rounds = numberOption('--rounds', 5);
const scale = numberOption('--scale', 1);
const require = createRequire(import.meta.url);

const { StateStore, withoutSqliteWarning } = await import(path.join(root, 'packages', 'mldeploy', 'dist', 'server', 'state-store.js'));
const { DatabaseSync } = withoutSqliteWarning(() => require('node:sqlite'));

let BetterSqlite3;
try {
  BetterSqlite3 = require(process.env.BETTER_SQLITE3 ?? 'better-sqlite3');
  new BetterSqlite3(':memory:').close();
} catch (error) {
  console.log(`better-sqlite3 rows skipped: ${error.message.split('\n')[0]}\n`);
  BetterSqlite3 = undefined;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deployments (name TEXT PRIMARY KEY, revision INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS revisions (deployment TEXT NOT NULL, revision INTEGER NOT NULL, model_uri TEXT NOT NULL, model_dir TEXT NOT NULL, model_version TEXT, flavor TEXT NOT NULL, config TEXT NOT NULL, reason TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (deployment, revision)) STRICT;
CREATE TABLE IF NOT EXISTS endpoints (name TEXT PRIMARY KEY, config TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL) STRICT;
`;
const SQL = {
  deployments: 'SELECT name, revision, created_at, updated_at FROM deployments ORDER BY name',
  deployment: 'SELECT name, revision, created_at, updated_at FROM deployments WHERE name = ?',
  revision: 'SELECT * FROM revisions WHERE deployment = ? AND revision = ?',
  revisions: 'SELECT * FROM revisions WHERE deployment = ? ORDER BY revision',
  next: 'SELECT MAX(revision) AS n FROM revisions WHERE deployment = ?',
  insertRevision:
    'INSERT INTO revisions (deployment, revision, model_uri, model_dir, model_version, flavor, config, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  upsertDeployment:
    'INSERT INTO deployments (name, revision, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET revision = excluded.revision, updated_at = excluded.updated_at',
  deleteRevisions: 'DELETE FROM revisions WHERE deployment = ?',
  deleteDeployment: 'DELETE FROM deployments WHERE name = ?',
  endpoint: 'SELECT name, config, created_at, updated_at FROM endpoints WHERE name = ?',
  upsertEndpoint:
    'INSERT INTO endpoints (name, config, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at',
  audit: 'INSERT INTO audit (at, action, subject, detail) VALUES (?, ?, ?, ?)',
  auditBySubject: 'SELECT id, at, action, subject, detail FROM audit WHERE subject = ? ORDER BY id DESC LIMIT ?',
};
const toRevision = (r) => ({
  deployment: r.deployment,
  revision: r.revision,
  modelUri: r.model_uri,
  modelDir: r.model_dir,
  modelVersion: r.model_version,
  flavor: r.flavor,
  config: JSON.parse(r.config),
  reason: r.reason,
  createdAt: r.created_at,
});
const toDeployment = (r) => ({ name: r.name, revision: r.revision, createdAt: r.created_at, updatedAt: r.updated_at });

/** The store as it was on better-sqlite3 (before the switch): a statement prepared per call. */
class OldStore {
  constructor(file) {
    this.db = new BetterSqlite3(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }
  close() {
    this.db.close();
  }
  deployments() {
    return this.db.prepare(SQL.deployments).all().map(toDeployment);
  }
  deployment(name) {
    const r = this.db.prepare(SQL.deployment).get(name);
    return r === undefined ? undefined : toDeployment(r);
  }
  revision(d, n) {
    const r = this.db.prepare(SQL.revision).get(d, n);
    return r === undefined ? undefined : toRevision(r);
  }
  revisions(d) {
    return this.db.prepare(SQL.revisions).all(d).map(toRevision);
  }
  nextRevision(d) {
    return (this.db.prepare(SQL.next).get(d)?.n ?? 0) + 1;
  }
  commitRevision(rev, action) {
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      this.db
        .prepare(SQL.insertRevision)
        .run(
          rev.deployment,
          rev.revision,
          rev.modelUri,
          rev.modelDir,
          rev.modelVersion,
          rev.flavor,
          JSON.stringify(rev.config),
          rev.reason,
          now,
        );
      this.db.prepare(SQL.upsertDeployment).run(rev.deployment, rev.revision, now, now);
      this.audit(action, rev.deployment, `revision ${rev.revision}: ${rev.reason} (${rev.modelUri})`);
      return { ...rev, createdAt: now };
    })();
  }
  deleteDeployment(name) {
    this.db.transaction(() => {
      this.db.prepare(SQL.deleteRevisions).run(name);
      if (this.db.prepare(SQL.deleteDeployment).run(name).changes > 0) this.audit('delete', name, 'deployment deleted');
    })();
  }
  endpoint(name) {
    const r = this.db.prepare(SQL.endpoint).get(name);
    return r === undefined ? undefined : { name: r.name, config: JSON.parse(r.config), createdAt: r.created_at, updatedAt: r.updated_at };
  }
  putEndpoint(name, config, action) {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db.prepare(SQL.upsertEndpoint).run(name, JSON.stringify(config), now, now);
      this.audit(action, name, JSON.stringify(config));
    })();
    return this.endpoint(name);
  }
  audit(action, subject, detail) {
    this.db.prepare(SQL.audit).run(new Date().toISOString(), action, subject, detail);
  }
  auditLog(subject, limit = 100) {
    return this.db.prepare(SQL.auditBySubject).all(subject, limit).reverse();
  }
}

/** One store over the API both drivers share: cached statements, BEGIN IMMEDIATE transactions. */
class SameCodeStore extends OldStore {
  constructor(open, file) {
    const db = open(file);
    for (const pragma of ['busy_timeout = 5000', 'journal_mode = WAL', 'synchronous = NORMAL']) db.exec(`PRAGMA ${pragma}`);
    db.exec(SCHEMA);
    db.exec('CREATE INDEX IF NOT EXISTS audit_subject ON audit (subject, id)');
    const statements = new Map();
    const prepare = (sql) => statements.get(sql) ?? statements.set(sql, db.prepare(sql)).get(sql);
    // OldStore's methods, with db.prepare cached and transaction() as BEGIN IMMEDIATE … COMMIT.
    const facade = {
      prepare,
      close: () => db.close(),
      transaction: (fn) => () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = fn();
          db.exec('COMMIT');
          return result;
        } catch (error) {
          db.exec('ROLLBACK');
          throw error;
        }
      },
    };
    return Object.assign(Object.create(OldStore.prototype), { db: facade });
  }
}

const revisionOf = (deployment, revision) => ({
  deployment,
  revision,
  modelUri: `models:/${deployment}/${revision}`,
  modelDir: `/srv/models/${deployment}/${revision}`,
  modelVersion: String(revision),
  flavor: 'onnx',
  config: { replicas: 2, timeout: 60 },
  reason: revision === 1 ? 'create' : 'update',
});
const endpointConfig = (i) => ({ traffic: { [`d${i % 50}`]: 90, [`d${(i + 1) % 50}`]: 10 }, stickyHeader: null, shadow: null });

/** Each case: [label, operations per round, setup(store), run(store, i)]. */
const DEPLOYMENTS = 50;
const cases = [
  [
    'create/update: nextRevision + commitRevision',
    2000 * scale,
    () => {},
    (s, i) => {
      const d = `d${i % DEPLOYMENTS}`;
      s.commitRevision(revisionOf(d, s.nextRevision(d)), 'update');
    },
  ],
  [
    'get: deployment + its serving revision',
    20000 * scale,
    () => {},
    (s, i) => {
      const d = s.deployment(`d${i % DEPLOYMENTS}`);
      s.revision(d.name, d.revision);
    },
  ],
  [`list: deployments() (${DEPLOYMENTS} rows)`, 2000 * scale, () => {}, (s) => s.deployments()],
  [
    'history: revisions() + auditLog(subject) (40 rows each)',
    2000 * scale,
    () => {},
    (s, i) => {
      s.revisions(`d${i % DEPLOYMENTS}`);
      s.auditLog(`d${i % DEPLOYMENTS}`);
    },
  ],
  [
    'endpoint: putEndpoint (upsert + audit + read back)',
    2000 * scale,
    () => {},
    (s, i) => s.putEndpoint(`e${i % 20}`, endpointConfig(i), 'update-endpoint'),
  ],
  [`delete: deleteDeployment (of ${DEPLOYMENTS})`, DEPLOYMENTS, () => {}, (s, i) => s.deleteDeployment(`d${i}`)],
];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const OPENS = 20;

/** µs for `fn`. */
function time(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1000;
}

/** Runs every case once against a fresh store from `open`; returns µs per operation by case. */
function round(open) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-bench-sqlite-'));
  const file = path.join(dir, 'state.db');
  const result = {};
  try {
    // Open (and close) a new database: creates the file and the schema. Median of OPENS.
    result['open a new database (+ close)'] = median(
      Array.from({ length: OPENS }, (_, i) => time(() => open(path.join(dir, `new-${i}.db`)).close())),
    );
    const store = open(file);
    // In order: the create/update case leaves 40 revisions per deployment for the history case.
    for (const [label, n, , run] of cases)
      result[label] =
        time(() => {
          for (let i = 0; i < n; i++) run(store, i);
        }) / n;
    store.close();
    result['reopen the database (+ close)'] = median(Array.from({ length: OPENS }, () => time(() => open(file).close())));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

const variants = [
  ['StateStore (node:sqlite)', (file) => new StateStore(file)],
  ['same code, node:sqlite', (file) => new SameCodeStore((f) => new DatabaseSync(f), file)],
];
if (BetterSqlite3 !== undefined) {
  variants.push(['same code, better-sqlite3', (file) => new SameCodeStore((f) => new BetterSqlite3(f), file)]);
  variants.push(['better-sqlite3, old store', (file) => new OldStore(file)]);
}

// Warm-up round for each (JIT, page cache), then `rounds` measured rounds, interleaved.
for (const [, open] of variants) round(open);
const samples = new Map(variants.map(([name]) => [name, []]));
for (let r = 0; r < rounds; r++) for (const [name, open] of variants) samples.get(name).push(round(open));

const keys = Object.keys(samples.values().next().value[0]);
const results = new Map(
  [...samples].map(([name, list]) => [name, Object.fromEntries(keys.map((k) => [k, median(list.map((s) => s[k]))]))]),
);
const sqliteVersion = new DatabaseSync(':memory:').prepare('SELECT sqlite_version() AS v').get().v;
let bsqlVersion = '';
if (BetterSqlite3 !== undefined) {
  const db = new BetterSqlite3(':memory:');
  const pkg = require(path.join(path.dirname(require.resolve(process.env.BETTER_SQLITE3 ?? 'better-sqlite3')), '..', 'package.json'));
  bsqlVersion = `; better-sqlite3 ${pkg.version} (SQLite ${db.prepare('SELECT sqlite_version() AS v').get().v})`;
  db.close();
}
console.log(
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; node:sqlite (SQLite ${sqliteVersion})${bsqlVersion}`,
);
console.log(
  `µs per operation, median of ${rounds} rounds after a warm-up round (opens: median of ${OPENS} per round); WAL, synchronous=NORMAL, files in ${os.tmpdir()}\n`,
);
const names = [...results.keys()];
const ratios =
  BetterSqlite3 === undefined
    ? []
    : [
        ['node:sqlite / better-sqlite3, same code', 'same code, node:sqlite', 'same code, better-sqlite3'],
        ['StateStore / old store', 'StateStore (node:sqlite)', 'better-sqlite3, old store'],
      ];
console.log(
  `| operation | ${[...names, ...ratios.map(([label]) => label)].join(' | ')} |\n|---|${[...names, ...ratios].map(() => '---:').join('|')}|`,
);
for (const key of keys) {
  const cells = [
    ...names.map((n) => results.get(n)[key].toFixed(1)),
    ...ratios.map(([, a, b]) => `${(results.get(a)[key] / results.get(b)[key]).toFixed(2)}×`),
  ];
  console.log(`| ${key} | ${cells.join(' | ')} |`);
}
if (ratios.length > 0) console.log('\nA ratio below 1× means node:sqlite (the new store) takes less time.');
