/**
 * A table: named columns and rows in that column order, as a pandas DataFrame holds them. Scoring
 * requests (`dataframe_split`, `dataframe_records`, CSV) and prediction views both use it.
 */
export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
}

/**
 * The largest of `values` mapped through `of`, or `empty` for none. `Math.max(...values)` would
 * pass every value as an argument and overflow the stack on a request with ~100k rows.
 */
export function maxOf<T>(values: readonly T[], of: (value: T) => number, empty = 0): number {
  let max = values.length === 0 ? empty : -Infinity;
  for (const value of values) max = Math.max(max, of(value));
  return max;
}

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Records as a table, as `pandas.DataFrame(records)` builds it: the columns are every key in
 * first-seen order; a key a record lacks is `null` in its row.
 */
export function recordsToTable(records: readonly Readonly<Record<string, unknown>>[]): Table {
  const columns = [...new Set(records.flatMap((record) => Object.keys(record)))];
  return { columns, rows: records.map((record) => columns.map((c) => record[c] ?? null)) };
}

/**
 * A dict of columns as a table, as `pandas.DataFrame(dict)` reads it: when no value is a list,
 * the dict is one row; otherwise each value is a column, and a scalar repeats on every row.
 */
export function columnsToTable(dict: Readonly<Record<string, unknown>>): Table {
  const columns = Object.keys(dict);
  const values = columns.map((c) => dict[c]);
  if (!values.some(Array.isArray)) return { columns, rows: [values] };
  const length = maxOf(values, (v) => (Array.isArray(v) ? v.length : 1));
  return { columns, rows: Array.from({ length }, (_, r) => values.map((v) => (Array.isArray(v) ? (v as unknown[])[r] : v))) };
}
