import { randomUUID } from 'node:crypto';

/**
 * Rewrites Python's non-standard JSON constants outside strings: `NaN` becomes `null` (a missing
 * value, which is what MLflow makes of NaN in a feature) and `Infinity` becomes `1e999`, which
 * JSON.parse reads as Infinity (`-Infinity` keeps its sign). Neither a digit before (`1Infinity`)
 * nor one after (`Infinity1`, hence the space) may join `1e999`: such text stays invalid, as in Python.
 *
 * @returns the rewritten text, or undefined when there was nothing to rewrite.
 */
function rewriteConstants(text: string): string | undefined {
  const parts: string[] = [];
  let copied = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string, escapes included; an unterminated one ends the scan (the text is invalid anyway).
      for (i += 1; i < text.length && text.charCodeAt(i) !== 0x22; i += 1) if (text.charCodeAt(i) === 0x5c /* \ */) i += 1;
    } else if (c === 0x4e /* N */ && text.startsWith('NaN', i)) {
      parts.push(text.slice(copied, i), 'null');
      copied = i + 3;
      i += 2;
    } else if (c === 0x49 /* I */ && text.startsWith('Infinity', i) && !/[\w.]/.test(text[i - 1] ?? ' ')) {
      parts.push(text.slice(copied, i), '1e999 ');
      copied = i + 8;
      i += 7;
    }
  }
  if (parts.length === 0) return undefined;
  parts.push(text.slice(copied));
  return parts.join('');
}

/**
 * Parses JSON as Python's `json.loads` does: standard JSON plus the bare constants `NaN`,
 * `Infinity` and `-Infinity`, which MLflow's Python client sends for missing and infinite
 * values in a DataFrame (and MLflow's scoring server writes in its answers). `NaN` reads as null,
 * the infinities as ±Infinity. Standard JSON takes the fast path: one `JSON.parse`.
 *
 * @throws SyntaxError, JSON.parse's own, when the text is not JSON even with those constants.
 */
export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const rewritten = rewriteConstants(text);
    if (rewritten === undefined) throw error;
    try {
      return JSON.parse(rewritten);
    } catch {
      // The first error points at the text the caller sent, not at the rewritten one.
      throw error;
    }
  }
}

/**
 * Writes JSON for a Python reader (MLflow's scoring server): like JSON.stringify, except that
 * ±Infinity is written as ±1e999 (which `json.loads` reads as ±inf) rather than null; NaN stays
 * null, which MLflow reads as a missing value, i.e. NaN again in a float input.
 */
export function stringifyPythonJson(value: unknown): string {
  // A marker no request can contain, so that only the infinities written here are replaced.
  const marker = `mldeploy-infinity-${randomUUID()}`;
  const text = JSON.stringify(value, (_key, v: unknown) => (v === Infinity ? `${marker}+` : v === -Infinity ? `${marker}-` : v));
  return text.replaceAll(`"${marker}+"`, '1e999').replaceAll(`"${marker}-"`, '-1e999');
}
