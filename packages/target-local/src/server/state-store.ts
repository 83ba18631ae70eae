import Database from 'better-sqlite3';
import { MlDeployError } from '@mldeploy/core';

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

/** An audit log entry. */
export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly action: string;
  readonly subject: string;
  readonly detail: string;
}

const SCHEMA = `
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
`;

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

/**
 * The local target's state in SQLite (WAL, one transaction per change): deployments, their
 * immutable revisions, endpoints and the audit log. A change is either fully recorded or not at
 * all, so a control plane killed at any point restarts from a consistent state.
 */
export class StateStore {
  private readonly db: Database.Database;

  /** Opens (creating if needed) the database at `file`. */
  constructor(file: string) {
    try {
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(SCHEMA);
    } catch (error) {
      throw new MlDeployError('INVALID_STATE', `Cannot open the local target's database ${file}: ${(error as Error).message}`, {
        cause: error,
        hint: 'Check the file and its folder are writable; move a corrupt file away to start empty.',
      });
    }
  }

  close(): void {
    this.db.close();
  }

  deployments(): DeploymentRecord[] {
    return this.db
      .prepare<[], { name: string; revision: number; created_at: string; updated_at: string }>('SELECT name, revision, created_at, updated_at FROM deployments ORDER BY name')
      .all()
      .map((r) => ({ name: r.name, revision: r.revision, createdAt: r.created_at, updatedAt: r.updated_at }));
  }

  deployment(name: string): DeploymentRecord | undefined {
    const row = this.db
      .prepare<[string], { name: string; revision: number; created_at: string; updated_at: string }>('SELECT name, revision, created_at, updated_at FROM deployments WHERE name = ?')
      .get(name);
    return row === undefined ? undefined : { name: row.name, revision: row.revision, createdAt: row.created_at, updatedAt: row.updated_at };
  }

  revision(deployment: string, revision: number): RevisionRecord | undefined {
    const row = this.db.prepare<[string, number], RevisionRow>('SELECT * FROM revisions WHERE deployment = ? AND revision = ?').get(deployment, revision);
    return row === undefined ? undefined : toRevision(row);
  }

  revisions(deployment: string): RevisionRecord[] {
    return this.db.prepare<[string], RevisionRow>('SELECT * FROM revisions WHERE deployment = ? ORDER BY revision').all(deployment).map(toRevision);
  }

  /** The number the next revision of `deployment` gets. */
  nextRevision(deployment: string): number {
    return (this.db.prepare<[string], { n: number | null }>('SELECT MAX(revision) AS n FROM revisions WHERE deployment = ?').get(deployment)?.n ?? 0) + 1;
  }

  /**
   * Records a new revision and, in the same transaction, makes it the one the deployment serves
   * (creating the deployment on its first revision).
   */
  commitRevision(revision: Omit<RevisionRecord, 'createdAt'>, action: string): RevisionRecord {
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      const record: RevisionRecord = { ...revision, createdAt: now };
      this.db
        .prepare('INSERT INTO revisions (deployment, revision, model_uri, model_dir, model_version, flavor, config, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(record.deployment, record.revision, record.modelUri, record.modelDir, record.modelVersion, record.flavor, JSON.stringify(record.config), record.reason, now);
      this.db
        .prepare('INSERT INTO deployments (name, revision, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET revision = excluded.revision, updated_at = excluded.updated_at')
        .run(record.deployment, record.revision, now, now);
      this.audit(action, record.deployment, `revision ${record.revision}: ${record.reason} (${record.modelUri})`);
      return record;
    })();
  }

  /** Removes a deployment with its revisions. */
  deleteDeployment(name: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM revisions WHERE deployment = ?').run(name);
      const { changes } = this.db.prepare('DELETE FROM deployments WHERE name = ?').run(name);
      if (changes > 0) this.audit('delete', name, 'deployment deleted');
    })();
  }

  endpoints(): EndpointRecord[] {
    return this.db
      .prepare<[], { name: string; config: string; created_at: string; updated_at: string }>('SELECT * FROM endpoints ORDER BY name')
      .all()
      .map((r) => ({ name: r.name, config: JSON.parse(r.config) as EndpointConfig, createdAt: r.created_at, updatedAt: r.updated_at }));
  }

  endpoint(name: string): EndpointRecord | undefined {
    const row = this.db.prepare<[string], { name: string; config: string; created_at: string; updated_at: string }>('SELECT * FROM endpoints WHERE name = ?').get(name);
    return row === undefined ? undefined : { name: row.name, config: JSON.parse(row.config) as EndpointConfig, createdAt: row.created_at, updatedAt: row.updated_at };
  }

  /** Creates or replaces an endpoint. */
  putEndpoint(name: string, config: EndpointConfig, action: string): EndpointRecord {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO endpoints (name, config, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at')
        .run(name, JSON.stringify(config), now, now);
      this.audit(action, name, JSON.stringify(config));
    })();
    return this.endpoint(name)!;
  }

  deleteEndpoint(name: string): void {
    this.db.transaction(() => {
      const { changes } = this.db.prepare('DELETE FROM endpoints WHERE name = ?').run(name);
      if (changes > 0) this.audit('delete-endpoint', name, 'endpoint deleted');
    })();
  }

  /** Appends to the audit log. */
  audit(action: string, subject: string, detail: string): void {
    this.db.prepare('INSERT INTO audit (at, action, subject, detail) VALUES (?, ?, ?, ?)').run(new Date().toISOString(), action, subject, detail);
  }

  auditLog(subject?: string, limit = 100): AuditEntry[] {
    const rows =
      subject === undefined
        ? this.db.prepare<[number], AuditEntry>('SELECT id, at, action, subject, detail FROM audit ORDER BY id DESC LIMIT ?').all(limit)
        : this.db.prepare<[string, number], AuditEntry>('SELECT id, at, action, subject, detail FROM audit WHERE subject = ? ORDER BY id DESC LIMIT ?').all(subject, limit);
    return rows.reverse();
  }
}
