/**
 * How a value in a spec compares with what a target reports. Config reaches targets as `-C`
 * strings from the CLI and is reported back in the target's own types (`replicas: 2`, `"2"`,
 * `{"deployment": "c", …}`), so values are compared as text: numbers by value, booleans without
 * case, objects (and JSON text of objects) key order aside.
 */

/** Objects with their keys sorted, recursively, so that key order does not matter. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]),
  );
}

/** The text a value compares as. */
function canonical(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('{') || text.startsWith('[')) {
      try {
        return JSON.stringify(sortedKeys(JSON.parse(text)));
      } catch {
        return value;
      }
    }
    return /^(true|false)$/i.test(text) ? text.toLowerCase() : value;
  }
  if (typeof value === 'object') return JSON.stringify(sortedKeys(value));
  return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : typeof value;
}

const NUMBER = /^\s*-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/** Whether a spec value and a reported one are the same setting (`2` and `"2"`, `"1.0"` and `1`, `"True"` and `true`). */
export function sameValue(wanted: unknown, reported: unknown): boolean {
  const a = canonical(wanted);
  const b = canonical(reported);
  return a === b || (NUMBER.test(a) && NUMBER.test(b) && Number(a) === Number(b));
}

/** A value as a plan shows it: strings as they are, the rest as JSON. */
export function shownValue(value: unknown): string {
  if (value === undefined) return '(none)';
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? typeof value);
}
