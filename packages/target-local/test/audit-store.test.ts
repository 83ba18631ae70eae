import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, MASK } from '@mldeploy/core';
import { StateStore } from '../src/server/state-store.js';
import { tempDir } from '../../../test/support/temp.js';
import { revision, withDatabase } from './state-db.js';

function withStore<T>(file: string, fn: (store: StateStore) => T): T {
  const store = new StateStore(file);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/** A store with a create, an update, an endpoint and a failure recorded; returns its file. */
function seeded(label: string): string {
  const file = path.join(tempDir(`audit-${label}`), 'state.db');
  withStore(file, (store) => {
    store.commitRevision(revision('iris', 1), 'create', 'alice');
    store.commitRevision(revision('iris', 2), 'update', 'alice');
    store.putEndpoint('front', { traffic: { iris: 100 }, stickyHeader: null, shadow: null }, 'create-endpoint', 'bob');
    store.appendAudit({ action: 'update', subject: 'iris', actor: 'bob', result: 'error: RESOURCE_CONFLICT port taken' });
  });
  return file;
}

describe('the audit log in state.db', () => {
  it('records who, the target, the state before and after and the result, chained from 64 zeros', () => {
    const file = seeded('fields');
    withStore(file, (store) => {
      const [create, update, endpoint, failure] = store.auditLog();
      expect(create).toMatchObject({
        id: 1,
        actor: 'alice',
        target: `local:${path.dirname(file)}`,
        action: 'create',
        subject: 'iris',
        detail: 'revision 1: create (models:/iris/1)',
        before: null,
        after: { revision: 1, model_uri: 'models:/iris/1', model_version: '1', flavor: 'onnx', config: { replicas: 1 } },
        result: 'ok',
        prev_hash: GENESIS_HASH,
      });
      expect(update).toMatchObject({
        id: 2,
        before: create!.after,
        after: { revision: 2, config: { replicas: 2 } },
        prev_hash: create!.hash,
      });
      expect(endpoint).toMatchObject({
        actor: 'bob',
        before: null,
        after: { traffic: { iris: 100 }, sticky_header: null, shadow: null },
      });
      expect(failure).toMatchObject({ actor: 'bob', result: 'error: RESOURCE_CONFLICT port taken', before: null, after: null });
      expect(store.verifyAudit()).toEqual({ intact: true, entries: 4, last_id: 4, last_hash: failure!.hash });
      expect(store.auditPage(1, 2).map((e) => e.id)).toEqual([2, 3]);
    });
  });

  it('never records a secret: config keys like token are masked', () => {
    const file = path.join(tempDir('audit-secret'), 'state.db');
    withStore(file, (store) => {
      store.commitRevision(revision('iris', 1, { replicas: 1, token: 's3cret', nested: { api_key: 'k' } }), 'create');
      const [entry] = store.auditLog();
      expect(entry!.after).toMatchObject({ config: { replicas: 1, token: MASK, nested: { api_key: MASK } } });
      expect(JSON.stringify(entry)).not.toContain('s3cret');
    });
  });

  it.each([
    ['a detail edited', "UPDATE audit SET detail = 'nothing happened' WHERE id = 2", { id: 2, kind: 'edited' }],
    ['a state edited', `UPDATE audit SET state_after = '{"revision":9}' WHERE id = 3`, { id: 3, kind: 'edited' }],
    ['an entry deleted', 'DELETE FROM audit WHERE id = 2', { id: 2, kind: 'removed' }],
    ['the last entry deleted', 'DELETE FROM audit WHERE id = 4', { id: 4, kind: 'removed' }],
    ['a hash cleared', 'UPDATE audit SET hash = NULL WHERE id = 3', { id: 3, kind: 'malformed' }],
    ['a state that is not JSON', "UPDATE audit SET state_before = '{oops' WHERE id = 2", { id: 2, kind: 'malformed' }],
  ])('%s in the file is found and named by its id', (_what, sql, problem) => {
    const file = seeded('tamper');
    withDatabase(file, (db) => db.exec(sql));
    withStore(file, (store) => {
      expect(store.verifyAudit()).toMatchObject({ intact: false, problem });
      // The log is still readable, and appends go on (after the gap, which stays visible).
      expect(store.auditLog().length).toBeGreaterThan(0);
      const next = store.appendAudit({ action: 'delete', subject: 'x' });
      expect(next.id).toBe(5);
      expect(store.verifyAudit().problem).toMatchObject(problem);
    });
  });

  it('appends from two connections in turn stay one chain (each reads the last hash and inserts in one transaction)', () => {
    const file = seeded('concurrent');
    const stores = [new StateStore(file), new StateStore(file)];
    try {
      for (let i = 0; i < 50; i++) stores[i % 2]!.appendAudit({ action: 'update-endpoint', subject: 'front', actor: `writer-${i % 2}` });
      expect(stores[0]!.verifyAudit()).toMatchObject({ intact: true, entries: 54 });
    } finally {
      for (const store of stores) store.close();
    }
  });

  it('entries written before the chain existed (schema 2) are chained by the migration, and verify', () => {
    const file = path.join(tempDir('audit-v2'), 'state.db');
    withDatabase(file, (db) => {
      db.exec(`
        CREATE TABLE deployments (name TEXT PRIMARY KEY, revision INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT;
        CREATE TABLE revisions (deployment TEXT NOT NULL, revision INTEGER NOT NULL, model_uri TEXT NOT NULL, model_dir TEXT NOT NULL, model_version TEXT, flavor TEXT NOT NULL, config TEXT NOT NULL, reason TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (deployment, revision)) STRICT;
        CREATE TABLE endpoints (name TEXT PRIMARY KEY, config TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT;
        CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL) STRICT;
        CREATE INDEX audit_subject ON audit (subject, id);
        INSERT INTO audit (at, action, subject, detail) VALUES ('2026-01-01T00:00:00.000Z', 'create', 'iris', 'revision 1: create (models:/iris/1)');
        INSERT INTO audit (at, action, subject, detail) VALUES ('2026-01-02T00:00:00.000Z', 'delete', 'iris', 'deployment deleted');
        PRAGMA user_version = 2;
      `);
    });
    withStore(file, (store) => {
      const entries = store.auditLog();
      expect(entries.map((e) => [e.id, e.actor, e.action, e.result, e.before, e.after])).toEqual([
        [1, 'unknown', 'create', 'ok', null, null],
        [2, 'unknown', 'delete', 'ok', null, null],
      ]);
      expect(entries[0]!.target).toBe(`local:${path.dirname(file)}`);
      expect(entries[1]!.prev_hash).toBe(entries[0]!.hash);
      store.commitRevision(revision('iris', 1), 'create', 'alice');
      expect(store.verifyAudit()).toMatchObject({ intact: true, entries: 3 });
    });
    // Chained once, by the migration: a row found unchained later is reported, not sealed.
    withDatabase(file, (db) => db.exec('UPDATE audit SET hash = NULL, prev_hash = NULL WHERE id = 3'));
    withStore(file, (store) => expect(store.verifyAudit().problem).toMatchObject({ id: 3, kind: 'malformed' }));
  });
});
