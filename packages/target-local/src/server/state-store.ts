import { createRequire } from 'node:module';
import type { DatabaseSync, StatementResultingChanges, StatementSync } from 'node:sqlite';
import { MlDeployError } from '@mldeploy/core';
import { damagedDatabase, sqliteFailure } from './storage-errors.js';

/** One immutable revision of a deployment: what it serves and how. */
export interface RevisionRecord {
  readonly deployment: string;
  readonly revision: number;
  readonly modelUri: string;
  /** The local model directory the URI resolved to. */
  readonly modelDir: string;
  /** The registry version a `models:/` URI resolved to. */
  readonly modelVersion: string | null;
  readonly flavor: string;
  /** Settings: replicas, timeouts. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Why it exists: `create`, `update`, `rollback to N`. */
  readonly reason: string;
  readonly createdAt: string;
}

/** A deployment: its name and the revision that serves it. */
export interface DeploymentRecord {
  readonly name: string;
  readonly revision: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Endpoint settings: traffic split, sticky routing and shadowing. */
export interface EndpointConfig {
  /** Deployment → weight; weights sum to 100. */
  readonly traffic: Readonly<Record<string, number>>;
  /** A request header whose value is hashed to pick a deployment, so one caller stays on one side. */
  readonly stickyHeader: string | null;
  /** Mirror `percent` of the traffic to `deployment`; callers never see its answers. */
  readonly shadow: { readonly deployment: string; readonly percent: number } | null;
}

/** An endpoint as stored. */
export interface EndpointRecord {
  readonly name: string;
  readonly config: EndpointConfig;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A rollout as stored: its API form and the engine's progress, as JSON (see server/rollouts). */
export interface RolloutRow {
  readonly id: string;
  readonly endpoint: string;
  readonly state: string;
  readonly record: string;
  readonly progress: string;
  readonly started_at: string;
  readonly updated_at: string;
}

/** An audit log entry. */
export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly action: string;
  readonly subject: string;
  readonly detail: string;
}

/**
 * The schema, as an ordered list of migrations: migration `i` takes a database from
 * `PRAGMA user_version` `i` to `i + 1`. Opening a store applies the missing ones in one
 * transaction. Append only: a released migration is never edited, since databases in the field
 * already went through it.
 */
const MIGRATIONS: readonly string[] = [
  // 1: the tables. `IF NOT EXISTS` because databases made before versioning have them at user_version 0.
  `
  CREATE TABLE IF NOT EXISTS deployments (
    name TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS revisions (
    deployment TEXT NOT NULL,
    revision INTEGER NOT NULL,
    model_uri TEXT NOT NULL,
    model_dir TEXT NOT NULL,
    model_version TEXT,
    flavor TEXT NOT NULL,
    config TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (deployment, revision)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
  ) STRICT;
  `,
  // 2: one deployment's history (`history`, the audit log by subject) reads an index instead of the whole log.
  'CREATE INDEX audit_subject ON audit (subject, id);',
  // 3: rollouts, which survive a control plane restart and resume. `record` is the rollout as
  // the API reports it (JSON); `progress` what the engine needs to resume a phase (JSON).
  `
  CREATE TABLE rollouts (
    id TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    state TEXT NOT NULL,
    record TEXT NOT NULL,
    progress TEXT NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX rollouts_endpoint ON rollouts (endpoint, started_at);
  `,
];

/** The schema version this code writes: databases at a higher one come from a newer mldeploy. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** A value bound to a statement parameter. */
type SqlValue = null | number | bigint | string | Uint8Array;

/** The prefix of the warning Node 22 prints when node:sqlite loads. */
const SQLITE_WARNING = 'SQLite is an experimental feature';

/**
 * Runs `fn` with Node's "ExperimentalWarning: SQLite is an experimental feature" dropped, and
 * every other warning passed on as usual. Node 22 prints that warning once per process when
 * node:sqlite loads (24 and later print none); it would otherwise end up in the CLI's output.
 */
export function withoutSqliteWarning<T>(fn: () => T): T {
  // Kept as it is (not bound) so that it can be put back exactly.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    const [typeOrOptions] = rest;
    const type =
      typeof typeOrOptions === 'string'
        ? typeOrOptions
        : ((typeOrOptions as { type?: unknown } | undefined)?.type ?? (warning instanceof Error ? warning.name : undefined));
    const message = typeof warning === 'string' ? warning : warning.message;
    if (type === 'ExperimentalWarning' && message.startsWith(SQLITE_WARNING)) return;
    (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  };
  try {
    return fn();
  } finally {
    process.emitWarning = emitWarning;
  }
}

const require = createRequire(import.meta.url);
let sqlite: typeof import('node:sqlite') | undefined;

/** node:sqlite, loaded on first use (so that processes that never open a store never load it). */
function loadSqlite(): typeof import('node:sqlite') {
  if (sqlite !== undefined) return sqlite;
  try {
    sqlite = withoutSqliteWarning(() => require('node:sqlite') as typeof import('node:sqlite'));
    return sqlite;
  } catch (error) {
    throw new MlDeployError(
      'INVALID_STATE',
      `The local target keeps its state with node:sqlite, which this Node (${process.version}) does not have`,
      {
        cause: error,
        hint: 'Use Node 22.13 or newer.',
      },
    );
  }
}

interface RevisionRow {
  deployment: string;
  revision: number;
  model_uri: string;
  model_dir: string;
  model_version: string | null;
  flavor: string;
  config: string;
  reason: string;
  created_at: string;
}

function toRevision(row: RevisionRow): RevisionRecord {
  return {
    deployment: row.deployment,
    revision: row.revision,
    modelUri: row.model_uri,
    modelDir: row.model_dir,
    modelVersion: row.model_version,
    flavor: row.flavor,
    config: JSON.parse(row.config) as Record<string, unknown>,
    reason: row.reason,
    createdAt: row.created_at,
  };
}

interface DeploymentRow {
  name: string;
  revision: number;
  created_at: string;
  updated_at: string;
}

function toDeployment(row: DeploymentRow): DeploymentRecord {
  return { name: row.name, revision: row.revision, createdAt: row.created_at, updatedAt: row.updated_at };
}

interface EndpointRow {
  name: string;
  config: string;
  created_at: string;
  updated_at: string;
}

function toEndpoint(row: EndpointRow): EndpointRecord {
  return { name: row.name, config: JSON.parse(row.config) as EndpointConfig, createdAt: row.created_at, updatedAt: row.updated_at };
}

/**
 * The local target's state in SQLite (WAL, one transaction per change): deployments, their
 * immutable revisions, endpoints and the audit log. A change is either fully recorded or not at
 * all, so a control plane killed at any point restarts from a consistent state.
 *
 * Every failure of the file itself is an {@link MlDeployError} naming it: a damaged database is
 * `INVALID_STATE`, a full disk `INTERNAL_ERROR` (the change rolled back, the store still usable).
 */
export class StateStore {
  private readonly db: DatabaseSync;
  /** Prepared statements by SQL text: each is compiled once per store. */
  private readonly statements = new Map<string, StatementSync>();

  /**
   * Opens (creating if needed) the database at `file`, checks it is undamaged (PRAGMA
   * quick_check) and brings its schema up to date. A database written by a newer mldeploy (a
   * higher schema version) is refused, not changed.
   */
  constructor(
    /** The database file, named in every error about it. */
    readonly file: string,
  ) {
    const { DatabaseSync } = loadSqlite();
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(file);
      db.exec('PRAGMA busy_timeout = 5000');
      // Both checks only read: a database that fails them is left exactly as it was.
      refuseNewer(db, file);
      checkIntegrity(db, file);
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = NORMAL');
      migrate(db, file);
      this.db = db;
    } catch (error) {
      db?.close();
      const failure = sqliteFailure(error, file);
      if (failure instanceof MlDeployError) throw failure;
      throw new MlDeployError('INVALID_STATE', `Cannot open the local target's database ${file}: ${(error as Error).message}`, {
        cause: error,
        hint: 'Check the file and its folder are writable.',
      });
    }
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }

  deployments(): DeploymentRecord[] {
    return (this.all('SELECT name, revision, created_at, updated_at FROM deployments ORDER BY name') as DeploymentRow[]).map(toDeployment);
  }

  deployment(name: string): DeploymentRecord | undefined {
    const row = this.get('SELECT name, revision, created_at, updated_at FROM deployments WHERE name = ?', name) as
      DeploymentRow | undefined;
    return row === undefined ? undefined : toDeployment(row);
  }

  revision(deployment: string, revision: number): RevisionRecord | undefined {
    const row = this.get('SELECT * FROM revisions WHERE deployment = ? AND revision = ?', deployment, revision) as RevisionRow | undefined;
    return row === undefined ? undefined : toRevision(row);
  }

  revisions(deployment: string): RevisionRecord[] {
    return (this.all('SELECT * FROM revisions WHERE deployment = ? ORDER BY revision', deployment) as RevisionRow[]).map(toRevision);
  }

  /** The number the next revision of `deployment` gets. */
  nextRevision(deployment: string): number {
    return (
      ((this.get('SELECT MAX(revision) AS n FROM revisions WHERE deployment = ?', deployment) as { n: number | null } | undefined)?.n ??
        0) + 1
    );
  }

  /**
   * Records a new revision and, in the same transaction, makes it the one the deployment serves
   * (creating the deployment on its first revision).
   */
  commitRevision(revision: Omit<RevisionRecord, 'createdAt'>, action: string): RevisionRecord {
    const now = new Date().toISOString();
    return this.transaction(() => {
      const record: RevisionRecord = { ...revision, createdAt: now };
      this.run(
        'INSERT INTO revisions (deployment, revision, model_uri, model_dir, model_version, flavor, config, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        record.deployment,
        record.revision,
        record.modelUri,
        record.modelDir,
        record.modelVersion,
        record.flavor,
        JSON.stringify(record.config),
        record.reason,
        now,
      );
      this.run(
        'INSERT INTO deployments (name, revision, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET revision = excluded.revision, updated_at = excluded.updated_at',
        record.deployment,
        record.revision,
        now,
        now,
      );
      this.audit(action, record.deployment, `revision ${record.revision}: ${record.reason} (${record.modelUri})`);
      return record;
    });
  }

  /** Removes a deployment with its revisions. */
  deleteDeployment(name: string): void {
    this.transaction(() => {
      this.run('DELETE FROM revisions WHERE deployment = ?', name);
      const { changes } = this.run('DELETE FROM deployments WHERE name = ?', name);
      if (Number(changes) > 0) this.audit('delete', name, 'deployment deleted');
    });
  }

  endpoints(): EndpointRecord[] {
    return (this.all('SELECT name, config, created_at, updated_at FROM endpoints ORDER BY name') as EndpointRow[]).map(toEndpoint);
  }

  endpoint(name: string): EndpointRecord | undefined {
    const row = this.get('SELECT name, config, created_at, updated_at FROM endpoints WHERE name = ?', name) as EndpointRow | undefined;
    return row === undefined ? undefined : toEndpoint(row);
  }

  /** Creates or replaces an endpoint. */
  putEndpoint(name: string, config: EndpointConfig, action: string): EndpointRecord {
    const now = new Date().toISOString();
    this.transaction(() => {
      this.run(
        'INSERT INTO endpoints (name, config, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at',
        name,
        JSON.stringify(config),
        now,
        now,
      );
      this.audit(action, name, JSON.stringify(config));
    });
    return this.endpoint(name)!;
  }

  deleteEndpoint(name: string): void {
    this.transaction(() => {
      const { changes } = this.run('DELETE FROM endpoints WHERE name = ?', name);
      if (Number(changes) > 0) this.audit('delete-endpoint', name, 'endpoint deleted');
    });
  }

  /** Appends to the audit log. */
  audit(action: string, subject: string, detail: string): void {
    this.run('INSERT INTO audit (at, action, subject, detail) VALUES (?, ?, ?, ?)', new Date().toISOString(), action, subject, detail);
  }

  auditLog(subject?: string, limit = 100): AuditEntry[] {
    const rows =
      subject === undefined
        ? (this.all('SELECT id, at, action, subject, detail FROM audit ORDER BY id DESC LIMIT ?', limit) as AuditEntry[])
        : (this.all(
            'SELECT id, at, action, subject, detail FROM audit WHERE subject = ? ORDER BY id DESC LIMIT ?',
            subject,
            limit,
          ) as AuditEntry[]);
    return rows.reverse().map((r) => ({ id: r.id, at: r.at, action: r.action, subject: r.subject, detail: r.detail }));
  }

  /** Records a rollout's state (and, in the same transaction, an audit entry when `action` is given). */
  putRollout(row: RolloutRow, action?: { readonly name: string; readonly detail: string }): void {
    this.transaction(() => {
      this.run(
        'INSERT INTO rollouts (id, endpoint, state, record, progress, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state, record = excluded.record, progress = excluded.progress, updated_at = excluded.updated_at',
        row.id,
        row.endpoint,
        row.state,
        row.record,
        row.progress,
        row.started_at,
        row.updated_at,
      );
      if (action !== undefined) this.audit(action.name, row.endpoint, action.detail);
    });
  }

  rolloutRow(id: string): RolloutRow | undefined {
    return this.get('SELECT * FROM rollouts WHERE id = ?', id) as RolloutRow | undefined;
  }

  /** Rollouts, newest first: of one endpoint, or in some states, when given. */
  rolloutRows(filter: { readonly endpoint?: string | undefined; readonly states?: readonly string[] } = {}): RolloutRow[] {
    const rows = (
      filter.endpoint === undefined
        ? this.all('SELECT * FROM rollouts ORDER BY started_at DESC, id DESC')
        : this.all('SELECT * FROM rollouts WHERE endpoint = ? ORDER BY started_at DESC, id DESC', filter.endpoint)
    ) as RolloutRow[];
    return filter.states === undefined ? rows : rows.filter((r) => filter.states!.includes(r.state));
  }

  private statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private get(sql: string, ...params: SqlValue[]): unknown {
    return this.guard(() => this.statement(sql).get(...params));
  }

  private all(sql: string, ...params: SqlValue[]): unknown[] {
    return this.guard(() => this.statement(sql).all(...params));
  }

  private run(sql: string, ...params: SqlValue[]): StatementResultingChanges {
    return this.guard(() => this.statement(sql).run(...params));
  }

  /** Runs `fn` in one write transaction: all of its changes are recorded, or none. */
  private transaction<T>(fn: () => T): T {
    return this.guard(() => transaction(this.db, fn));
  }

  /** Runs `fn`, turning SQLite's failures of the file (damage, a full disk) into errors that name it. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw sqliteFailure(error, this.file);
    }
  }
}

/**
 * Runs `fn` in a write transaction. `BEGIN IMMEDIATE` takes the write lock up front, so a
 * concurrent writer waits for it (busy_timeout) instead of failing half way.
 */
function transaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    try {
      db.exec('ROLLBACK');
    } catch {
      // SQLite already rolled back by itself (it does on SQLITE_FULL and I/O errors): `error` is what happened.
    }
    throw error;
  }
}

function schemaVersion(db: DatabaseSync): number {
  return (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
}

/** Throws when `file`'s schema is newer than this code's: a newer mldeploy wrote it. */
function refuseNewer(db: DatabaseSync, file: string): void {
  const version = schemaVersion(db);
  if (version <= SCHEMA_VERSION) return;
  throw new MlDeployError(
    'INVALID_STATE',
    `The local target's database ${file} has schema version ${version}, newer than the ${SCHEMA_VERSION} this mldeploy knows: a newer mldeploy wrote it`,
    {
      hint: 'Use that newer mldeploy with this home, or another home (local:/DIR) with this one.',
      details: { schemaVersion: version, supportedSchemaVersion: SCHEMA_VERSION },
    },
  );
}

/** How many problems PRAGMA quick_check reports at most: a few say what is wrong. */
const INTEGRITY_PROBLEMS_SHOWN = 5;

/**
 * Throws `INVALID_STATE` when `file` is damaged. quick_check reads every page (O(size), without
 * integrity_check's cross-check of each index against its table), so a damaged page is found
 * here, before anything starts, rather than as a row that silently is not there.
 */
function checkIntegrity(db: DatabaseSync, file: string): void {
  const problems = (db.prepare(`PRAGMA quick_check(${INTEGRITY_PROBLEMS_SHOWN})`).all() as { quick_check: string }[]).map((r) =>
    r.quick_check.replace(/\s*\n\s*/g, ' '),
  );
  if (problems.length === 1 && problems[0] === 'ok') return;
  throw damagedDatabase(file, `PRAGMA quick_check found: ${problems.join('; ')}`);
}

/** Applies the migrations `file` lacks, all in one transaction; refuses a newer schema. */
function migrate(db: DatabaseSync, file: string): void {
  if (schemaVersion(db) === SCHEMA_VERSION) return;
  transaction(db, () => {
    // Another process may have migrated it between the read in refuseNewer and the lock.
    refuseNewer(db, file);
    const current = schemaVersion(db);
    for (let next = current; next < SCHEMA_VERSION; next++) db.exec(MIGRATIONS[next]!);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  });
}
