import { maxOf } from '@mldeploy/core';
/** Renders one value for `key: value` lines: strings as they are, the rest as JSON. */
function renderValue(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? String(value);
}

/** `key: value` lines, as `mlflow deployments get` prints them. */
export function formatKeyValues(record: Readonly<Record<string, unknown>>): string {
  return `${Object.entries(record)
    .map(([key, value]) => `${key}: ${renderValue(value)}`)
    .join('\n')}\n`;
}

/**
 * A plain table of records for `list` commands: the columns are `name` first, then the given
 * preferred columns that any record has.
 */
export function formatTable(records: readonly Readonly<Record<string, unknown>>[], preferred: readonly string[]): string {
  const columns = ['name', ...preferred.filter((c) => c !== 'name' && records.some((r) => r[c] !== undefined))];
  const cells = [
    columns.map((c) => c.toUpperCase()),
    ...records.map((r) => columns.map((c) => (r[c] === undefined || r[c] === null ? '-' : renderValue(r[c])))),
  ];
  const widths = columns.map((_, i) => maxOf(cells, (row) => row[i]!.length));
  return `${cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

/** JSON for `--json` output. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
