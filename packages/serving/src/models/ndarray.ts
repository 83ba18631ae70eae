import { MlDeployError } from '@mldeploy/core';
import { floatFromText, integerFromText } from './number-text.js';

/** The element types mldeploy feeds to models (ONNX's names). */
export type ElementType =
  'float32' | 'float64' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool' | 'string';

/** The typed storage of each element type. */
export type ElementData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | boolean[]
  | string[];

/** A dense n-dimensional array: row-major data and its dimensions. */
export interface NdArray {
  readonly type: ElementType;
  readonly dims: readonly number[];
  readonly data: ElementData;
}

/** How deeply request JSON may nest: tensors of rank 32 and more do not occur in practice. */
const MAX_JSON_DEPTH = 32;

/**
 * Refuses JSON nested deeper than `max` (32 by default) with `BAD_REQUEST`, before any of the
 * recursive shape walks below see it (100k nested arrays would overflow their stack: a 500).
 * Iterative, so that the check itself cannot overflow.
 */
export function checkJsonDepth(value: unknown, max = MAX_JSON_DEPTH): void {
  // Two parallel stacks rather than a tuple per node: this runs on every scoring request.
  const nodes: object[] = [];
  const depths: number[] = [];
  if (typeof value === 'object' && value !== null) {
    nodes.push(value);
    depths.push(1);
  }
  while (nodes.length > 0) {
    const current = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > max) {
      throw new MlDeployError('BAD_REQUEST', `Invalid input. The request nests arrays or objects more than ${max} levels deep.`);
    }
    const children: unknown[] = Array.isArray(current) ? (current as unknown[]) : Object.values(current);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
}

/** The dimensions of a nested JSON array, or an error naming where it is ragged. */
function shapeOf(value: unknown, what: string): number[] {
  const dims: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    dims.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  const check = (node: unknown, depth: number): void => {
    if (depth === dims.length) {
      if (Array.isArray(node)) throw ragged();
      return;
    }
    if (!Array.isArray(node) || node.length !== dims[depth]) throw ragged();
    for (const child of node) check(child, depth + 1);
  };
  const ragged = (): MlDeployError =>
    new MlDeployError(
      'BAD_REQUEST',
      `Invalid input. ${what[0]!.toUpperCase()}${what.slice(1)} is a ragged nested list: every row must have the same length`,
      {
        hint: 'Send rectangular arrays.',
      },
    );
  check(value, 0);
  return dims;
}

/** Python's name for a JSON value's type, as MLflow's messages print it. */
export function pythonTypeName(value: unknown): string {
  if (value === null) return 'NoneType';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  if (Array.isArray(value)) return 'list';
  return 'dict';
}

/** An array being converted, for error messages: its shape and, when it has one, its name. */
interface Place {
  readonly dims: readonly number[];
  readonly what: string | undefined;
}

/** Where flat index `index` lies, for error messages: `at [2, 0]`, or `at [2, 0] of input x`. */
function position(index: number, { dims, what }: Place): string {
  const at: number[] = [];
  let rest = index;
  for (let d = dims.length - 1; d >= 0; d -= 1) {
    const size = Math.max(dims[d]!, 1);
    at.unshift(rest % size);
    rest = Math.floor(rest / size);
  }
  return `at [${at.join(', ')}]${what === undefined ? '' : ` of ${what}`}`;
}

/** A value that does not fit `type`, in numpy's words where numpy refuses it too; never with the value itself. */
function convertError(value: unknown, type: ElementType, at: string): MlDeployError {
  const numeric = type !== 'string' && type !== 'bool';
  if (numeric && typeof value === 'string') {
    return new MlDeployError(
      'BAD_REQUEST',
      `Invalid input. could not convert string to ${type.startsWith('float') ? 'float' : 'int'} (${at})`,
    );
  }
  if (numeric && typeof value === 'object' && value !== null) {
    // What numpy says for a list or dict where a number belongs: the request is malformed (400 BAD_REQUEST in MLflow).
    const argument = type.startsWith('float')
      ? 'float() argument must be a string or a real number'
      : 'int() argument must be a string, a bytes-like object or a real number';
    return new MlDeployError('BAD_REQUEST', `Invalid input. ${argument}, not '${pythonTypeName(value)}' (${at})`);
  }
  return new MlDeployError('INVALID_PARAMETER_VALUE', `Can not safely convert a ${pythonTypeName(value)} ${at} to ${type}`, {
    hint: type.startsWith('int') || type.startsWith('uint') ? 'Integer inputs take whole numbers; mldeploy does not truncate.' : undefined,
  });
}

/**
 * A missing (null, NaN) or infinite value for an integer input: refused, as MLflow refuses it
 * ("cannot convert float NaN to integer"), and with where it is, which MLflow does not say.
 */
function notAnInteger(value: number | null, type: ElementType, at: string): MlDeployError {
  const what = value === null ? 'missing (null)' : String(value);
  return new MlDeployError(
    'BAD_REQUEST',
    `Invalid input. The value ${at} is ${what}; ${type} inputs cannot hold missing or infinite values.`,
    {
      hint: 'Send a whole number there, or give the model a float input for features that may be missing.',
    },
  );
}

/**
 * A value for a float input, as numpy casts it: null is NaN (a missing value), numeric text is
 * read as Python's float() reads it, ±Infinity stays infinite.
 */
function toFloat(value: unknown, type: ElementType, index: number, place: Place): number {
  if (typeof value === 'number') return value;
  if (value === null) return Number.NaN;
  if (typeof value === 'boolean') return value ? 1 : 0;
  const parsed = typeof value === 'string' ? floatFromText(value) : undefined;
  if (parsed === undefined) throw convertError(value, type, position(index, place));
  return parsed;
}

function toInteger(value: unknown, type: ElementType, min: number, max: number, index: number, place: Place): number {
  if (value === null || (typeof value === 'number' && !Number.isFinite(value))) throw notAnInteger(value, type, position(index, place));
  const n = typeof value === 'boolean' ? Number(value) : typeof value === 'string' ? integerFromText(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw convertError(value, type, position(index, place));
  return n;
}

/**
 * Converts a flat list of JSON values to typed storage, checking each value fits `type`. `dims`
 * (the array's shape, flat by default) and `what` (its name) only serve to say where a value
 * that does not fit is.
 */
export function toElementData(
  values: readonly unknown[],
  type: ElementType,
  dims: readonly number[] = [values.length],
  what?: string,
): ElementData {
  const place: Place = { dims, what };
  const int =
    (min: number, max: number) =>
    (v: unknown, i: number): number =>
      toInteger(v, type, min, max, i, place);
  const float = (v: unknown, i: number): number => toFloat(v, type, i, place);
  switch (type) {
    case 'float32':
      return Float32Array.from(values, float);
    case 'float64':
      return Float64Array.from(values, float);
    case 'int8':
      return Int8Array.from(values, int(-128, 127));
    case 'int16':
      return Int16Array.from(values, int(-32768, 32767));
    case 'int32':
      return Int32Array.from(values, int(-2147483648, 2147483647));
    case 'uint8':
      return Uint8Array.from(values, int(0, 255));
    case 'uint16':
      return Uint16Array.from(values, int(0, 65535));
    case 'uint32':
      return Uint32Array.from(values, int(0, 4294967295));
    case 'int64': {
      const convert = int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      return BigInt64Array.from(values, (v, i) => BigInt(convert(v, i)));
    }
    case 'uint64': {
      const convert = int(0, Number.MAX_SAFE_INTEGER);
      return BigUint64Array.from(values, (v, i) => BigInt(convert(v, i)));
    }
    case 'bool':
      return values.map((v, i) => {
        if (typeof v === 'boolean') return v;
        if (v === 0 || v === 1) return v === 1;
        throw convertError(v, type, position(i, place));
      });
    case 'string':
      return values.map((v, i) => {
        if (typeof v === 'string') return v;
        if (typeof v === 'number' || typeof v === 'boolean') return String(v);
        throw convertError(v, type, position(i, place));
      });
  }
}

/** A nested JSON array (or scalar) as an {@link NdArray} of `type`; `what` names it in errors (`input x`). */
export function fromNested(value: unknown, type: ElementType, what: string): NdArray {
  const dims = shapeOf(value, what);
  const flat: unknown[] = dims.length === 0 ? [value] : (value as unknown[]).flat(Math.max(dims.length - 1, 0));
  return { type, dims, data: toElementData(flat, type, dims, what) };
}

/** One element as a plain value: 64-bit integers become numbers. */
function plainElement(value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

/**
 * The elements of typed storage as plain JSON-ready values, flat. NaN and ±Infinity are kept
 * (converting between element types must not lose them); JSON.stringify writes them as null,
 * where MLflow writes bare `NaN`/`Infinity`, which is not JSON (docs/mlflow-compatibility.md).
 */
export function flatJson(data: ElementData | readonly unknown[]): unknown[] {
  return Array.from(data as ArrayLike<unknown>, plainElement);
}

/** An {@link NdArray}-like value back as nested JSON arrays. */
export function toNested(dims: readonly number[], data: ElementData | readonly unknown[]): unknown {
  const flat = flatJson(data);
  if (dims.length === 0) return flat[0];
  const build = (depth: number, offset: number): unknown[] => {
    const size = dims.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: dims[depth]! }, (_, i) =>
      depth === dims.length - 1 ? flat[offset + i] : build(depth + 1, offset + i * size),
    );
  };
  return build(0, 0);
}

/** Python's tuple form of a shape, as MLflow prints it: `(1, 3)`, `(-1,)`. */
export function pythonShape(dims: readonly number[]): string {
  return `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;
}

/** Whether `dims` fits `expected`, where -1 (or a symbolic dimension) matches any size. */
export function shapeMatches(dims: readonly number[], expected: readonly (number | string)[]): boolean {
  return dims.length === expected.length && expected.every((e, i) => typeof e !== 'number' || e < 0 || e === dims[i]);
}
