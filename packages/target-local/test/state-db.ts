import type { DatabaseSync } from 'node:sqlite';
import { withoutSqliteWarning } from '../src/server/state-store.js';

/** node:sqlite's database class, loaded without its ExperimentalWarning. */
const { DatabaseSync: Database } = withoutSqliteWarning(() => process.getBuiltinModule('node:sqlite'));

/** Runs `fn` on a plain connection to `file` (as someone with the file has), then closes it. */
export function withDatabase<T>(file: string, fn: (db: DatabaseSync) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Revision `n` of `deployment`, as the control plane records it (`config` by default: `n` replicas). */
export const revision = (deployment: string, n: number, config: Record<string, unknown> = { replicas: n }) => ({
  deployment,
  revision: n,
  modelUri: `models:/${deployment}/${n}`,
  modelDir: `/models/${deployment}`,
  modelVersion: String(n),
  flavor: 'onnx',
  config,
  reason: n === 1 ? 'create' : 'update',
});
