/**
 * A value as canonical JSON: object keys sorted (by UTF-16 code units, as `Array.prototype.sort`
 * compares strings), no whitespace, numbers and strings as `JSON.stringify` writes them, members
 * whose value is `undefined` left out. Two equal values always give the same text, whatever the
 * order their keys were added in: the form the audit log hashes (it matches RFC 8785, JCS, for
 * the strings, numbers, booleans, nulls, arrays and objects that JSON holds).
 *
 * @throws TypeError for a value JSON cannot hold at the top (`undefined`, a function, a bigint).
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const toJson = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJson === 'function') return canonicalJson((toJson as () => unknown).call(value));
    if (Array.isArray(value)) return `[${value.map((item: unknown) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
    const record = value as Readonly<Record<string, unknown>>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined && typeof record[key] !== 'function')
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${members.join(',')}}`;
  }
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new TypeError(`${typeof value} has no JSON form`);
  return text;
}
