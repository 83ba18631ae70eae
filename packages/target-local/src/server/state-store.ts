import { createRequire } from 'node:module';
import path from 'node:path';
import type { DatabaseSync, StatementResultingChanges, StatementSync } from 'node:sqlite';
import {
  AuditChainVerifier,
  GENESIS_HASH,
  MlDeployError,
  maskSecrets,
  sealAuditRecord,
  type AuditRecord,
  type AuditVerification,
} from '@mldeploy/core';
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
  /** 0 while the endpoint does not yet route as the rollout's state says (see server/rollouts). */
  readonly routed: number;
  readonly started_at: string;
  readonly updated_at: string;
}

/** An audit log entry, hash-chained to the one before (see `AuditRecord` in @mldeploy/core). */
export type AuditEntry = AuditRecord;

/**
 * What a caller records in the audit log ({@link StateStore.appendAudit}); the store adds the
 * id, the time, its target and the hashes.
 */
export interface AuditEvent {
  /** The operation: `create`, `update-endpoint`, `rollout-step`, … */
  readonly action: string;
  /** The deployment or endpoint (or rollout) it is about. */
  readonly subject: string;
  /** Who: the API caller (see api-caller.ts); default `control-plane`. */
  readonly actor?: string | undefined;
  /** What was asked or done, in words or compact JSON; default empty. */
  readonly detail?: string | undefined;
  /** The subject's recorded state before and after (see {@link StateStore.deploymentAuditState}); default null. */
  readonly before?: unknown;
  readonly after?: unknown;
  /** `ok` (the default), or `error: <CODE> <message>`. */
  readonly result?: string | undefined;
}

/** The actor of changes the control plane makes by itself. */
export const CONTROL_PLANE_ACTOR = 'control-plane';

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
  // 3: the audit log says who, on which target, the state before and after and the result, and is
  // hash-chained. Entries written before get actor 'unknown' and are chained in the same
  // transaction (chainAuditLog, run by migrate).
  `
  ALTER TABLE audit ADD COLUMN actor TEXT NOT NULL DEFAULT 'unknown';
  ALTER TABLE audit ADD COLUMN target TEXT NOT NULL DEFAULT '';
  ALTER TABLE audit ADD COLUMN state_before TEXT NOT NULL DEFAULT 'null';
  ALTER TABLE audit ADD COLUMN state_after TEXT NOT NULL DEFAULT 'null';
  ALTER TABLE audit ADD COLUMN result TEXT NOT NULL DEFAULT 'ok';
  ALTER TABLE audit ADD COLUMN prev_hash TEXT;
  ALTER TABLE audit ADD COLUMN hash TEXT;
  `,
  // 4: rollouts, which survive a control plane restart and resume. `record` is the rollout as
  // the API reports it (JSON); `progress` what the engine needs to resume a phase (JSON).
  `
  CREATE TABLE rollouts (
    id TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    state TEXT NOT NULL,
    record TEXT NOT NULL,
    progress TEXT NOT NULL,
    routed INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX rollouts_endpoint ON rollouts (endpoint, started_at);
  CREATE INDEX rollouts_pending ON rollouts (state, routed);
  `,
];

/** The migration that made the audit log a hash chain: a database below it has its entries chained as it passes it. */
const AUDIT_CHAIN_MIGRATION = 3;

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

/** The audit columns, in the order of an entry's fields. */
const AUDIT_COLUMNS = 'id, at, actor, target, action, subject, detail, state_before, state_after, result, prev_hash, hash';

/** How many entries verification reads at a time. */
const AUDIT_PAGE = 1000;

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  target: string;
  action: string;
  subject: string;
  detail: string;
  state_before: string;
  state_after: string;
  result: string;
  prev_hash: string | null;
  hash: string | null;
}

/** A stored state that does not parse as JSON (the row was edited): shown as its text, reported by verification. */
class UnreadableState {
  constructor(readonly text: string) {}
  toJSON(): string {
    return this.text;
  }
}

function readState(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return new UnreadableState(text);
  }
}

function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    target: row.target,
    action: row.action,
    subject: row.subject,
    detail: row.detail,
    before: readState(row.state_before),
    after: readState(row.state_after),
    result: row.result,
    prev_hash: row.prev_hash ?? '',
    hash: row.hash ?? '',
  };
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
    /** The target URI its audit entries name: the home as `local:/HOME`. */
    readonly target = `local:${path.dirname(path.resolve(file))}`,
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
      migrate(db, file, target);
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
  commitRevision(revision: Omit<RevisionRecord, 'createdAt'>, action: string, actor = CONTROL_PLANE_ACTOR): RevisionRecord {
    const now = new Date().toISOString();
    return this.transaction(() => {
      const record: RevisionRecord = { ...revision, createdAt: now };
      const before = this.deploymentAuditState(record.deployment);
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
      this.appendAuditRow({
        action,
        subject: record.deployment,
        actor,
        detail: `revision ${record.revision}: ${record.reason} (${String(maskSecrets(record.modelUri))})`,
        before,
        after: this.deploymentAuditState(record.deployment),
      });
      return record;
    });
  }

  /** Removes a deployment with its revisions. */
  deleteDeployment(name: string, actor = CONTROL_PLANE_ACTOR): void {
    this.transaction(() => {
      const before = this.deploymentAuditState(name);
      this.run('DELETE FROM revisions WHERE deployment = ?', name);
      const { changes } = this.run('DELETE FROM deployments WHERE name = ?', name);
      if (Number(changes) > 0) this.appendAuditRow({ action: 'delete', subject: name, actor, detail: 'deployment deleted', before });
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
  putEndpoint(name: string, config: EndpointConfig, action: string, actor = CONTROL_PLANE_ACTOR): EndpointRecord {
    const now = new Date().toISOString();
    this.transaction(() => {
      const before = this.endpointAuditState(name);
      this.run(
        'INSERT INTO endpoints (name, config, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at',
        name,
        JSON.stringify(config),
        now,
        now,
      );
      this.appendAuditRow({
        action,
        subject: name,
        actor,
        detail: JSON.stringify(config),
        before,
        after: this.endpointAuditState(name),
      });
    });
    return this.endpoint(name)!;
  }

  deleteEndpoint(name: string, actor = CONTROL_PLANE_ACTOR): void {
    this.transaction(() => {
      const before = this.endpointAuditState(name);
      const { changes } = this.run('DELETE FROM endpoints WHERE name = ?', name);
      if (Number(changes) > 0) this.appendAuditRow({ action: 'delete-endpoint', subject: name, actor, detail: 'endpoint deleted', before });
    });
  }

  // The audit log: hash-chained entries (docs/audit.md). Every change above appends its entry in
  // its own transaction; anything else (a failed change, a rollout step) calls appendAudit.

  /**
   * Appends one entry to the audit log, chained to the last one: the function every recorder
   * calls (the control plane for failed changes and shutdowns, rollout steps). It is its own
   * write transaction, so reading the last hash and inserting are one step even with another
   * writer; the store's own changes append theirs inside their transaction instead.
   */
  appendAudit(event: AuditEvent): AuditEntry {
    return this.transaction(() => this.appendAuditRow(event));
  }

  /** The last `limit` entries, oldest first; of one subject when given. */
  auditLog(subject?: string, limit = 100): AuditEntry[] {
    const rows =
      subject === undefined
        ? (this.all(`SELECT ${AUDIT_COLUMNS} FROM audit ORDER BY id DESC LIMIT ?`, limit) as AuditRow[])
        : (this.all(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE subject = ? ORDER BY id DESC LIMIT ?`, subject, limit) as AuditRow[]);
    return rows.reverse().map(toAuditEntry);
  }

  /** Up to `limit` entries after id `after`, oldest first: the whole log, page by page. */
  auditPage(after: number, limit: number): AuditEntry[] {
    return (this.all(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE id > ? ORDER BY id LIMIT ?`, after, limit) as AuditRow[]).map(toAuditEntry);
  }

  /**
   * Walks the whole chain (page by page) and reports its first problem: an edited entry, a
   * removed one (a gap in the ids, or, at the end, ids that SQLite's AUTOINCREMENT counter says
   * were handed out but are no longer there), a broken link.
   */
  verifyAudit(): AuditVerification {
    const verifier = new AuditChainVerifier();
    for (let after = 0; ;) {
      const rows = this.all(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE id > ? ORDER BY id LIMIT ?`, after, AUDIT_PAGE) as AuditRow[];
      for (const row of rows) {
        const entry = row.hash === null || row.prev_hash === null ? undefined : toAuditEntry(row);
        if (entry === undefined || [entry.before, entry.after].some((state) => state instanceof UnreadableState)) {
          verifier.malformed(`Entry ${row.id} ${entry === undefined ? 'has no hash' : 'has a state that is not JSON'}`, row.id);
        } else {
          verifier.add(entry);
        }
      }
      if (rows.length < AUDIT_PAGE) break;
      after = rows.at(-1)!.id;
    }
    const issued = this.auditSequence();
    const last = verifier.lastEntry?.id ?? 0;
    if (issued > last) {
      verifier.fail({
        id: last + 1,
        kind: 'removed',
        message: `Entries ${last + 1}–${issued} were written (SQLite's counter says so) but are no longer in the log: removed from its end`,
      });
    }
    return verifier.result();
  }

  /** A deployment's recorded state as audit entries show it (what it serves; secrets masked), or null when there is none. */
  deploymentAuditState(name: string): Readonly<Record<string, unknown>> | null {
    const deployment = this.deployment(name);
    const revision = deployment === undefined ? undefined : this.revision(name, deployment.revision);
    if (revision === undefined) return null;
    return {
      revision: revision.revision,
      model_uri: maskSecrets(revision.modelUri),
      model_version: revision.modelVersion,
      flavor: revision.flavor,
      config: maskSecrets(revision.config),
    };
  }

  /** An endpoint's recorded state as audit entries show it (traffic, sticky header, shadow), or null when there is none. */
  endpointAuditState(name: string): Readonly<Record<string, unknown>> | null {
    const endpoint = this.endpoint(name);
    if (endpoint === undefined) return null;
    return { traffic: endpoint.config.traffic, sticky_header: endpoint.config.stickyHeader, shadow: endpoint.config.shadow };
  }

  /** Appends an entry inside the caller's transaction. */
  private appendAuditRow(event: AuditEvent): AuditEntry {
    const last = this.get('SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1') as { id: number; hash: string | null } | undefined;
    const record = sealAuditRecord(last?.hash ?? GENESIS_HASH, {
      // Past SQLite's counter: an id removed from the end is never handed out again, so its gap shows.
      id: Math.max(this.auditSequence(), last?.id ?? 0) + 1,
      at: new Date().toISOString(),
      actor: event.actor ?? CONTROL_PLANE_ACTOR,
      target: this.target,
      action: event.action,
      subject: event.subject,
      detail: event.detail ?? '',
      before: event.before ?? null,
      after: event.after ?? null,
      result: event.result ?? 'ok',
    });
    this.run(
      'INSERT INTO audit (id, at, actor, target, action, subject, detail, state_before, state_after, result, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      record.id,
      record.at,
      record.actor,
      record.target,
      record.action,
      record.subject,
      record.detail,
      JSON.stringify(record.before),
      JSON.stringify(record.after),
      record.result,
      record.prev_hash,
      record.hash,
    );
    return record;
  }

  /** The highest audit id SQLite's AUTOINCREMENT has handed out (0 for none). */
  private auditSequence(): number {
    return (this.get("SELECT seq FROM sqlite_sequence WHERE name = 'audit'") as { seq: number } | undefined)?.seq ?? 0;
  }

  /** Records a rollout's state (and, in the same transaction, an audit entry when `action` is given). */
  putRollout(row: RolloutRow, action?: { readonly name: string; readonly detail: string; readonly actor?: string | undefined }): void {
    this.transaction(() => {
      this.run(
        'INSERT INTO rollouts (id, endpoint, state, record, progress, routed, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state, record = excluded.record, progress = excluded.progress, routed = excluded.routed, updated_at = excluded.updated_at',
        row.id,
        row.endpoint,
        row.state,
        row.record,
        row.progress,
        row.routed,
        row.started_at,
        row.updated_at,
      );
      if (action !== undefined)
        this.appendAuditRow({
          action: action.name,
          subject: row.endpoint,
          actor: action.actor ?? `rollout:${row.id}`,
          detail: action.detail,
        });
    });
  }

  rolloutRow(id: string): RolloutRow | undefined {
    return this.get('SELECT * FROM rollouts WHERE id = ?', id) as RolloutRow | undefined;
  }

  /**
   * Rollouts, newest first: of one endpoint, in some states, or `pending` (running, paused, or
   * ended but not yet routed by their end), when given.
   */
  rolloutRows(
    filter: { readonly endpoint?: string | undefined; readonly states?: readonly string[]; readonly pending?: boolean } = {},
  ): RolloutRow[] {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.endpoint !== undefined) {
      where.push('endpoint = ?');
      params.push(filter.endpoint);
    }
    if (filter.states !== undefined) {
      where.push(`state IN (${filter.states.map(() => '?').join(', ')})`);
      params.push(...filter.states);
    }
    if (filter.pending === true) where.push("(state IN ('running', 'paused') OR routed = 0)");
    const sql = `SELECT * FROM rollouts${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ORDER BY started_at DESC, id DESC`;
    return this.all(sql, ...params) as RolloutRow[];
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
function migrate(db: DatabaseSync, file: string, target: string): void {
  if (schemaVersion(db) === SCHEMA_VERSION) return;
  transaction(db, () => {
    // Another process may have migrated it between the read in refuseNewer and the lock.
    refuseNewer(db, file);
    const current = schemaVersion(db);
    for (let next = current; next < SCHEMA_VERSION; next++) db.exec(MIGRATIONS[next]!);
    if (current < AUDIT_CHAIN_MIGRATION) chainAuditLog(db, target);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  });
}

/**
 * Chains the entries written before the audit log was a hash chain, in id order, as the
 * migration that made it one passes (in its transaction). Only then: an entry found unchained
 * later was tampered with, and verification says so instead of sealing it.
 */
function chainAuditLog(db: DatabaseSync, target: string): void {
  const rows = db.prepare('SELECT id, at, actor, action, subject, detail FROM audit ORDER BY id').all() as {
    id: number;
    at: string;
    actor: string;
    action: string;
    subject: string;
    detail: string;
  }[];
  const update = db.prepare('UPDATE audit SET target = ?, prev_hash = ?, hash = ? WHERE id = ?');
  let prevHash = GENESIS_HASH;
  for (const row of rows) {
    const record = sealAuditRecord(prevHash, { ...row, target, before: null, after: null, result: 'ok' });
    update.run(target, record.prev_hash, record.hash, row.id);
    prevHash = record.hash;
  }
}
