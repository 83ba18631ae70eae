/** Keys whose values an audit entry never shows. */
const SECRET_KEY = /token|secret|password|key/i;

/** What a secret is shown as. */
export const MASK = '***';

/**
 * A URL with its password and its secret-looking query parameters (any whose name matches
 * {@link SECRET_KEY}, such as `X-Amz-Security-Token`) masked; any other string as it is.
 */
function maskUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  let changed = false;
  if (url.password !== '') {
    url.password = MASK;
    changed = true;
  }
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET_KEY.test(key)) {
      url.searchParams.set(key, MASK);
      changed = true;
    }
  }
  return changed ? url.toString() : text;
}

/** Keys whose value is kept as it is: a traffic split's keys are deployment names (`monkey` holds no key), its values weights. */
const PLAIN_KEYS: ReadonlySet<string> = new Set(['traffic']);

/**
 * A copy of `value` fit for an audit log: the value of every key that looks like it holds a
 * secret (matching /token|secret|password|key/i, at any depth) is replaced with `***`, and so
 * are the passwords and secret query parameters of URLs. Keys are kept, so an entry still shows
 * that a secret was set or changed. A `traffic` split is kept as it is.
 */
export function maskSecrets(value: unknown): unknown {
  if (typeof value === 'string') return maskUrl(value);
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value as Readonly<Record<string, unknown>>).map(([key, item]) => [
      key,
      PLAIN_KEYS.has(key) ? item : SECRET_KEY.test(key) && item !== null && item !== undefined ? MASK : maskSecrets(item),
    ]),
  );
}
