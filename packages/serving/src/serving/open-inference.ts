import { decodePathSegment } from '../http/read-body.js';
import { MlDeployError } from '@mldeploy/core';
import { parsePythonJson } from './python-json.js';
import { checkJsonDepth, type ElementType, flatJson, type NdArray, toElementData } from '../models/ndarray.js';

const DATATYPES: Record<string, ElementType> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const NAMES = Object.fromEntries(Object.entries(DATATYPES).map(([name, type]) => [type, name])) as Record<ElementType, string>;

/** An Open Inference Protocol (V2) inference request, checked. */
export interface OipInferRequest {
  readonly id: string | undefined;
  readonly inputs: Map<string, NdArray>;
  /** The outputs asked for, or undefined for all. */
  readonly outputs: string[] | undefined;
}

function bad(message: string): MlDeployError {
  return new MlDeployError('BAD_REQUEST', message, {
    hint: 'See the Open Inference Protocol: inputs are [{"name", "shape", "datatype", "data"}].',
  });
}

/**
 * Parses and checks a V2 `infer` request body: every input's name, shape, datatype and data,
 * flat or nested, with the element count matching the shape. Python's `NaN` and `Infinity` are
 * read as in the MLflow protocol.
 *
 * @throws MlDeployError `BAD_REQUEST` naming the input that is wrong.
 */
export function parseInferRequest(text: string): OipInferRequest {
  let body: unknown;
  try {
    body = parsePythonJson(text);
  } catch (error) {
    throw bad(`The request body is not valid JSON: ${(error as Error).message}`);
  }
  checkJsonDepth(body);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('The request body must be a JSON object');
  const record = body as Record<string, unknown>;
  const rawInputs = record['inputs'];
  if (!Array.isArray(rawInputs) || rawInputs.length === 0) throw bad("The request must have a non-empty 'inputs' list");
  const inputs = new Map<string, NdArray>();
  for (const [i, raw] of rawInputs.entries()) {
    if (typeof raw !== 'object' || raw === null) throw bad(`inputs[${i}] must be an object`);
    const input = raw as Record<string, unknown>;
    const name = input['name'];
    if (typeof name !== 'string' || name === '') throw bad(`inputs[${i}] needs a 'name'`);
    if (inputs.has(name)) throw bad(`Input ${name} is given twice`);
    const shape = input['shape'];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0))
      throw bad(`Input ${name}: 'shape' must be a list of non-negative integers`);
    const datatype = input['datatype'];
    const type = typeof datatype === 'string' ? DATATYPES[datatype] : undefined;
    if (type === undefined)
      throw bad(`Input ${name}: unsupported datatype ${JSON.stringify(datatype)}; supported: ${Object.keys(DATATYPES).join(', ')}`);
    const data = input['data'];
    if (!Array.isArray(data)) throw bad(`Input ${name}: 'data' must be a list (flat, or nested to the shape)`);
    const flat = data.flat(Infinity) as unknown[];
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (flat.length !== size)
      throw bad(`Input ${name}: shape [${(shape as number[]).join(', ')}] needs ${size} values, got ${flat.length}`);
    let values;
    try {
      values = toElementData(flat, type, shape as number[]);
    } catch (error) {
      throw bad(`Input ${name}: ${(error as Error).message} (datatype ${datatype as string})`);
    }
    inputs.set(name, { type, dims: shape as number[], data: values });
  }
  const rawOutputs = record['outputs'];
  let outputs: string[] | undefined;
  if (rawOutputs !== undefined) {
    if (
      !Array.isArray(rawOutputs) ||
      !rawOutputs.every((o) => typeof o === 'object' && o !== null && typeof (o as Record<string, unknown>)['name'] === 'string')
    ) {
      throw bad('\'outputs\' must be a list of {"name": …}');
    }
    outputs = rawOutputs.map((o: Record<string, unknown>) => o['name'] as string);
  }
  const id = record['id'];
  return { id: typeof id === 'string' ? id : undefined, inputs, outputs };
}

/** The V2 `infer` response body. */
export function inferResponse(
  modelName: string,
  modelVersion: string | undefined,
  id: string | undefined,
  outputs: ReadonlyMap<string, NdArray>,
): Record<string, unknown> {
  return {
    model_name: modelName,
    ...(modelVersion === undefined ? {} : { model_version: modelVersion }),
    ...(id === undefined ? {} : { id }),
    outputs: [...outputs].map(([name, array]) => ({
      name,
      datatype: NAMES[array.type],
      shape: [...array.dims],
      data: flatJson(array.data),
    })),
  };
}

/**
 * An Open Inference Protocol route: the server's own (`/v2`, its health probes) or one of a
 * model's (`/v2/models/{name}[/versions/{version}][/ready|/infer]`).
 */
export type OipRoute = { readonly kind: 'server'; readonly action: 'metadata' | 'live' | 'ready' } | OipModelRoute;

/** An OIP route of one model. */
export interface OipModelRoute {
  readonly kind: 'model';
  readonly action: 'metadata' | 'ready' | 'infer';
  readonly name: string;
  readonly version: string | undefined;
}

const MODEL_ROUTE = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/;

/**
 * The OIP route a request path names, or undefined when it names none. The scoring server and
 * the local target's gateway both route with it, so that the two cannot disagree on the paths.
 */
export function matchOipRoute(path: string): OipRoute | undefined {
  if (path === '/v2') return { kind: 'server', action: 'metadata' };
  if (path === '/v2/health/live') return { kind: 'server', action: 'live' };
  if (path === '/v2/health/ready') return { kind: 'server', action: 'ready' };
  const match = MODEL_ROUTE.exec(path);
  if (match === null) return undefined;
  const name = decodePathSegment(match[1]!);
  const version = match[2] === undefined ? undefined : decodePathSegment(match[2]);
  const action = match[3] === '/infer' ? 'infer' : match[3] === '/ready' ? 'ready' : 'metadata';
  return { kind: 'model', action, name, version };
}

/** The HTTP methods a route takes: inference is POSTed, everything else is read. */
export function oipMethods(route: OipRoute): readonly string[] {
  return route.action === 'infer' ? ['POST'] : ['GET', 'HEAD'];
}

/** The body of `GET /v2`, the server metadata. */
export function oipServerMetadata(serverVersion: string): { name: string; version: string; extensions: string[] } {
  return { name: 'mldeploy', version: serverVersion, extensions: [] };
}
