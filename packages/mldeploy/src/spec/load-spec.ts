import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { SpecError, type SpecProblem } from './spec-error.js';
import { specSchema, type Spec } from './spec-schema.js';

/** A spec read from a file, relative model paths made absolute (relative to the file). */
export interface LoadedSpec {
  readonly file: string;
  readonly spec: Spec;
}

type Segment = string | number;

/** `targets[0].deployments.iris.model_uri`; keys that are not plain words are quoted. */
function pathText(segments: readonly Segment[]): string {
  return segments
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z0-9_-]+$/.test(s) ? `${i === 0 ? '' : '.'}${s}` : `[${JSON.stringify(s)}]`))
    .join('');
}

/**
 * The offset in the text of what `segments` names: the value itself, or with `key` its key (an
 * unknown key, a bad name). Where the path leaves the document (a key that is missing), the key
 * of the deepest mapping it reached, so that "model_uri is required" points at `iris:`.
 */
function offsetOf(doc: Document, segments: readonly Segment[], want: 'value' | 'key'): number | undefined {
  let node: unknown = doc.contents;
  let key: unknown = undefined;
  const start = (n: unknown): number | undefined =>
    typeof n === 'object' && n !== null && 'range' in n && Array.isArray(n.range) ? (n.range[0] as number) : undefined;
  for (const segment of segments) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown = undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(segment));
      if (pair !== undefined) {
        key = pair.key;
        next = pair.value ?? pair.key;
      }
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
      key = undefined;
    }
    if (next === undefined) return start(key) ?? start(node);
    node = next;
  }
  return want === 'key' ? (start(key) ?? start(node)) : (start(node) ?? start(key));
}

/** The first value in `value` that contains itself (YAML aliases can make one), as a path. */
function cycleIn(value: unknown, ancestors = new Set<unknown>(), at: Segment[] = []): Segment[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (ancestors.has(value)) return at;
  ancestors.add(value);
  for (const [k, v] of Object.entries(value)) {
    const found = cycleIn(v, ancestors, [...at, Array.isArray(value) ? Number(k) : k]);
    if (found !== undefined) return found;
  }
  ancestors.delete(value);
  return undefined;
}

/** Whether the value at `segments` of `data` is absent (a required key that is missing). */
function isMissing(data: unknown, segments: readonly Segment[]): boolean {
  let value = data;
  for (const segment of segments) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) return true;
    value = (value as Record<Segment, unknown>)[segment];
  }
  return value === undefined;
}

/** Zod's issues as problems: one per unknown key, "required" for a missing one, the position of each. */
function schemaProblems(doc: Document, lines: LineCounter, data: unknown, issues: readonly z.core.$ZodIssue[]): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const add = (segments: readonly Segment[], message: string, want: 'value' | 'key'): void => {
    const offset = offsetOf(doc, segments, want);
    const position = offset === undefined ? undefined : lines.linePos(offset);
    problems.push({ path: pathText(segments), line: position?.line, column: position?.col, message });
  };
  for (const issue of issues) {
    const segments = issue.path.filter((s): s is Segment => typeof s !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const known = issue.message.startsWith('Unrecognized key') ? '' : ` (${issue.message})`;
      for (const key of issue.keys) add([...segments, key], `unknown key${known}`, 'key');
    } else if (issue.code === 'invalid_key') {
      add(segments, issue.issues[0]?.message ?? issue.message, 'key');
    } else if (issue.code === 'invalid_type' && isMissing(data, segments)) {
      add(segments, `is required (${issue.message.replace(/^Invalid input: /, '')})`, 'value');
    } else {
      add(segments, issue.message, 'value');
    }
  }
  return problems;
}

/** Makes a relative model path absolute against the spec's folder; URIs with a scheme stay as they are. */
function resolveModelPath(modelUri: string, folder: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(modelUri) || path.isAbsolute(modelUri)) return modelUri;
  return path.resolve(folder, modelUri);
}

/**
 * Parses a spec's text: YAML (one document), then the schema. Every problem is reported at once,
 * each with its path and line:column; a relative model path is resolved against `folder` (by
 * default `file`'s).
 *
 * @throws SpecError listing every problem; nothing else.
 */
export function parseSpec(text: string, file: string, folder = path.dirname(path.resolve(file))): Spec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, logLevel: 'error', uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SpecError(
      file,
      doc.errors.map((e) => {
        const position = lines.linePos(e.pos[0]);
        return { path: '', line: position.line, column: position.col, message: `YAML: ${e.message}` };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new SpecError(file, [{ path: '', message: `YAML: ${(error as Error).message}` }]);
  }
  const cycle = cycleIn(data);
  if (cycle !== undefined) {
    throw new SpecError(file, [{ path: pathText(cycle), message: 'YAML: an alias refers to a node that contains it' }]);
  }
  const parsed = specSchema.safeParse(data);
  if (!parsed.success) throw new SpecError(file, schemaProblems(doc, lines, data, parsed.error.issues));
  for (const target of parsed.data.targets) {
    for (const deployment of Object.values(target.deployments)) deployment.model_uri = resolveModelPath(deployment.model_uri, folder);
  }
  return parsed.data;
}

/**
 * Reads and parses a spec file (`file` relative to `cwd`).
 *
 * @throws SpecError for a file that cannot be read or is not a valid spec.
 */
export async function loadSpecFile(file: string, cwd: string): Promise<LoadedSpec> {
  const absolute = path.resolve(cwd, file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new SpecError(file, [{ path: '', message: `cannot read the spec: ${reason}` }]);
  }
  return { file, spec: parseSpec(text, file, path.dirname(absolute)) };
}
