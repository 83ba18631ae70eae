/**
 * Another target's records come as that target's plugin shapes them: the table shows the name,
 * the state (or status) and the model fields the records actually have.
 */
import { formatValue } from './format.js';

type NamedRecord = Readonly<{ name: string } & Record<string, unknown>>;

/** Columns for a list of records: `name`, then `state`/`status` and the `model…` fields any record has. */
export function remoteColumns(records: readonly NamedRecord[]): string[] {
  const present = new Set(records.flatMap((record) => Object.keys(record)));
  const stateColumns = ['state', 'status'].filter((key) => present.has(key));
  const modelColumns = [...present].filter((key) => key.startsWith('model')).sort();
  const extra = ['traffic', 'replicas'].filter((key) => present.has(key));
  return ['name', ...stateColumns, ...modelColumns, ...extra];
}

/** A record's field as table text (nested values as compact JSON, a field it lacks as a dash). */
export function remoteCell(record: NamedRecord, column: string): string {
  return formatValue(Object.hasOwn(record, column) ? record[column] : undefined);
}
