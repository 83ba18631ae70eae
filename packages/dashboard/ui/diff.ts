/**
 * Key-by-key differences between two JSON values (two revisions, an audit entry's before and
 * after). Objects are compared key by key at any depth; anything else (arrays included) is compared
 * whole, since a list that changed reads better as the old and the new list than as index moves.
 */
import type { Revision } from '../src/protocol.js';

/** One difference, at `path` (`config.env.MODE`; `""` for the values themselves). */
export type DiffRow =
  | { readonly kind: 'added'; readonly path: string; readonly after: unknown }
  | { readonly kind: 'removed'; readonly path: string; readonly before: unknown }
  | { readonly kind: 'changed'; readonly path: string; readonly before: unknown; readonly after: unknown };

/** The differences, in key order, and how many leaf values are the same on both sides. */
export interface Diff {
  readonly rows: readonly DiffRow[];
  readonly unchanged: number;
}

type JsonObject = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Equality of JSON values, with object keys in any order. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key], b[key]));
  }
  // NaN is not JSON, but a value that is one must still equal itself.
  return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
}

const childPath = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/** Counts the leaves of a value the way {@link diffValues} counts unchanged ones. */
function leaves(value: unknown): number {
  if (!isObject(value)) return 1;
  return Object.keys(value).reduce((sum, key) => sum + leaves(value[key]), 0);
}

/** The differences from `before` to `after`; a side that is `undefined` is absent (everything added or removed). */
export function diffValues(before: unknown, after: unknown): Diff {
  const rows: DiffRow[] = [];
  let unchanged = 0;
  const walk = (a: unknown, b: unknown, path: string): void => {
    // A state that did not exist on one side lists the other's keys one by one, as a config change would.
    if ((isObject(a) && b === undefined) || (a === undefined && isObject(b))) return walk(a ?? {}, b ?? {}, path);
    if (isObject(a) && isObject(b)) {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
      for (const key of keys) {
        const inA = Object.hasOwn(a, key);
        const inB = Object.hasOwn(b, key);
        if (inA && inB) walk(a[key], b[key], childPath(path, key));
        else if (inA) rows.push({ kind: 'removed', path: childPath(path, key), before: a[key] });
        else rows.push({ kind: 'added', path: childPath(path, key), after: b[key] });
      }
      return;
    }
    if (a === undefined && b === undefined) return;
    if (a === undefined) rows.push({ kind: 'added', path, after: b });
    else if (b === undefined) rows.push({ kind: 'removed', path, before: a });
    else if (sameJson(a, b)) unchanged += leaves(a);
    else rows.push({ kind: 'changed', path, before: a, after: b });
  };
  walk(before, after, '');
  return { rows, unchanged };
}

/** The part of a revision that a diff compares: its model and its config. */
export function revisionContent(revision: Revision): JsonObject {
  return {
    model_uri: revision.model_uri,
    model_version: revision.model_version,
    flavor: revision.flavor,
    config: revision.config,
  };
}
