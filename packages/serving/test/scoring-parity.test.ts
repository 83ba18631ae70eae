import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryForTests } from '../../../test/support/mlflow-tracking-server.js';
import { parsePythonJson } from '../src/serving/python-json.js';
import { closeTo, serveSideBySide, type SideBySide } from './support.js';

/**
 * Side by side with MLflow's own scoring server: python/train_parity_models.py trains three
 * scikit-learn models afresh and registers them in a real tracking server; `mlflow models serve`
 * and `mldeploy models serve` each serve the same `models:/…@champion` URIs, and every request
 * below goes to both. Where both answer 200 the predictions agree within 1e-6; otherwise the
 * status, `error_code` and `error_class` agree, except for the deviations that
 * docs/mlflow-compatibility.md lists, where mldeploy's documented answer is checked together
 * with MLflow's different one. mldeploy's error messages never repeat request values.
 */

interface Trained {
  readonly regressor: { readonly uri: string };
  readonly classifier: { readonly uri: string };
  readonly pyfunc: { readonly uri: string };
}
type ModelName = keyof Trained;

/** One answer: the status, the raw text and, when it is JSON (Python's NaN included), its value with NaN and ±Infinity as null. */
interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: Record<string, unknown> | undefined;
}

interface Request {
  readonly name: string;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as it is, instead of `body`. */
  readonly text?: string;
  /** `null`: no Content-Type header at all. */
  readonly contentType?: string | null;
  readonly method?: string;
  readonly path?: string;
}

/** A deliberate difference: mldeploy's answer and MLflow's are each checked. */
interface Deviation {
  readonly why: string;
  readonly ours: (answer: Answer) => void;
  readonly theirs: (answer: Answer) => void;
}

interface Case extends Request {
  readonly deviation?: Deviation;
  /** MLflow's message repeats a value of this request, and mldeploy's must not (docs: schema errors). */
  readonly echoedByMlflow?: boolean;
}

async function ask(base: string, request: Request): Promise<Answer> {
  const method = request.method ?? 'POST';
  const payload = request.text ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  const contentType = request.contentType === undefined ? 'application/json' : request.contentType;
  const response = await fetch(`${base}${request.path ?? '/invocations'}`, {
    method,
    // A Buffer, so that fetch adds no Content-Type of its own when the case sends none.
    body: method === 'POST' && payload !== undefined ? Buffer.from(payload) : undefined,
    headers: contentType === null ? {} : { 'content-type': contentType },
  });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    const value = parsePythonJson(text);
    // MLflow writes NaN bare where mldeploy writes null (a documented deviation): compared alike.
    if (typeof value === 'object' && value !== null) json = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

/** The values of a request that an error message must not repeat: strings and fractional numbers, column names aside. */
function requestValues(value: unknown, key?: string): string[] {
  if (key === 'columns') return [];
  if (typeof value === 'string') return value.length >= 2 ? [value] : [];
  if (typeof value === 'number') return Number.isInteger(value) ? [] : [String(value)];
  if (Array.isArray(value)) return value.flatMap((v: unknown) => requestValues(v));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => requestValues(v, k));
  return [];
}

const expectError = (status: number, code: string | undefined) => (answer: Answer) => {
  expect(answer.status).toBe(status);
  expect(answer.json?.['error_code']).toBe(code);
};
const expectPredictions = (answer: Answer): void => {
  expect(answer.status).toBe(200);
  expect(answer.json).toHaveProperty('predictions');
};

// Deviations every model shares (docs/mlflow-compatibility.md, Serving).
const unknownField = (body: Record<string, unknown>): Case => ({
  name: 'an unknown top-level field',
  body: { ...body, param: { typo: 1 } },
  deviation: { why: 'a typo such as `param` must not be ignored', ours: expectError(400, 'BAD_REQUEST'), theirs: expectPredictions },
});
const recordsOfLists = (rows: unknown[][], theirs: (answer: Answer) => void): Case => ({
  name: 'dataframe_records holding lists',
  body: { dataframe_records: rows },
  deviation: { why: 'records are dicts; lists are rows of dataframe_split or inputs', ours: expectError(400, 'BAD_REQUEST'), theirs },
});

/** Requests that are wrong whatever the model, and the protocol's other routes. */
function protocolCases(body: Record<string, unknown>, csv: string): Case[] {
  const plainText415 = (answer: Answer): void => {
    expect(answer.status).toBe(415);
    expect(answer.json).toBeUndefined();
  };
  return [
    { name: 'invalid JSON', text: '{"inputs": [1,' },
    { name: 'a top-level list', body: [[1, 2, 3, 4]] },
    { name: 'a top-level number', body: 5 },
    { name: 'no format field', body: { data: [[1, 2, 3, 4]] } },
    { name: 'two format fields', body: { inputs: [[1, 2, 3, 4]], instances: [[1, 2, 3, 4]] } },
    { name: 'dataframe_split that is not a dict', body: { dataframe_split: [[1, 2, 3, 4]] } },
    { name: 'dataframe_split without data', body: { dataframe_split: { columns: ['a'] } } },
    { name: 'dataframe_records that is not a list', body: { dataframe_records: { a: 1 } } },
    { name: 'params', body: { ...body, params: { anything: 1 } } },
    unknownField(body),
    {
      name: 'an unsupported content type',
      text: csv,
      contentType: 'text/plain',
      deviation: { why: 'every answer is JSON', ours: expectError(415, 'UNSUPPORTED_MEDIA_TYPE'), theirs: plainText415 },
    },
    {
      name: 'a charset other than UTF-8',
      body,
      contentType: 'application/json; charset=latin-1',
      deviation: { why: 'every answer is JSON', ours: expectError(415, 'UNSUPPORTED_MEDIA_TYPE'), theirs: plainText415 },
    },
    {
      name: "MLflow 1.x's format parameter",
      body,
      contentType: 'application/json; format=pandas-split',
      deviation: { why: 'every answer is JSON', ours: expectError(415, 'UNSUPPORTED_MEDIA_TYPE'), theirs: plainText415 },
    },
    {
      name: 'no Content-Type',
      body,
      contentType: null,
      deviation: {
        why: 'quirk 12: MLflow crashes',
        ours: expectError(415, 'UNSUPPORTED_MEDIA_TYPE'),
        theirs: (a) => expect(a.status).toBe(500),
      },
    },
    {
      name: 'application/csv, which MLflow documents',
      text: csv,
      contentType: 'application/csv',
      deviation: { why: 'accepted as text/csv', ours: expectPredictions, theirs: plainText415 },
    },
    {
      name: 'a Parquet body',
      text: 'not parquet',
      contentType: 'application/vnd.apache.parquet',
      deviation: { why: 'Parquet is not read', ours: expectError(415, 'UNSUPPORTED_MEDIA_TYPE'), theirs: expectError(400, 'BAD_REQUEST') },
    },
    {
      name: 'GET /invocations',
      method: 'GET',
      deviation: {
        why: 'every answer is an error document with a code',
        ours: expectError(405, 'METHOD_NOT_ALLOWED'),
        theirs: (a) => expect(a).toMatchObject({ status: 405, json: { detail: 'Method Not Allowed' } }),
      },
    },
    {
      name: 'HEAD /ping',
      method: 'HEAD',
      path: '/ping',
      deviation: {
        why: 'load balancers probe with HEAD',
        ours: (a) => expect(a.status).toBe(200),
        theirs: (a) => expect(a.status).toBe(405),
      },
    },
    {
      name: 'GET /version',
      method: 'GET',
      path: '/version',
      deviation: {
        why: 'every answer is JSON',
        ours: (a) => expect(a.json).toMatchObject({ server: 'mldeploy' }),
        theirs: (a) => expect(a.text).toMatch(/^\d+\.\d+\.\d+$/),
      },
    },
  ];
}

const REGRESSOR_COLUMNS = ['age', 'bmi', 'bp', 's5'];
const R1 = [0.038076, 0.061696, 0.021872, 0.019907];
const R2 = [-0.001882, -0.051474, -0.026328, -0.068332];
const record = (columns: readonly string[], row: readonly unknown[]): Record<string, unknown> =>
  Object.fromEntries(columns.map((c, i) => [c, row[i]]));
const split = (columns: readonly string[], data: unknown[][]): { dataframe_split: unknown } => ({ dataframe_split: { columns, data } });
const csvOf = (columns: readonly string[], rows: readonly (readonly number[])[]): string =>
  `${columns.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`;

/** An ONNX regressor whose signature names double columns. */
function regressorCases(): Case[] {
  const cols = REGRESSOR_COLUMNS;
  return [
    { name: 'dataframe_split', body: split(cols, [R1, R2]) },
    { name: 'dataframe_split, columns in another order', body: split(['bp', 's5', 'age', 'bmi'], [[R1[2], R1[3], R1[0], R1[1]]]) },
    { name: 'dataframe_split with an index', body: { dataframe_split: { index: [7], columns: cols, data: [R1] } } },
    { name: 'dataframe_records', body: { dataframe_records: [record(cols, R1), record(cols, R2)] } },
    { name: 'dataframe_records with a key missing (NaN)', body: { dataframe_records: [record(cols, R1), record(cols.slice(0, 3), R2)] } },
    { name: 'instances as records', body: { instances: [record(cols, R1)] } },
    { name: 'inputs as a dict of columns', body: { inputs: Object.fromEntries(cols.map((c, i) => [c, [R1[i], R2[i]]])) } },
    { name: 'CSV', text: csvOf(cols, [R1, R2]), contentType: 'text/csv' },
    { name: 'integers for double columns', body: split(cols, [[1, 2, 3, 4]]) },
    { name: 'numbers as text, Python-style', body: split(cols, [['0.038076', ' 6e-2 ', '2_1e-3', '\uff10.\uff11']]) },
    { name: 'null for a double (NaN)', body: split(cols, [[null, ...R1.slice(1)]]) },
    { name: 'a dataframe_split row shorter than the others (NaN)', body: split(cols, [R1, R2.slice(0, 2)]) },
    { name: 'an extra column is ignored', body: { dataframe_records: [{ ...record(cols, R1), extra: 1.5 }] } },
    { name: 'no rows', body: split(cols, []) },
    { name: 'a row longer than the columns', body: split(cols, [[...R1, 0.5]]) },
    { name: 'a missing column', body: split(cols.slice(0, 3), [R1.slice(0, 3)]), echoedByMlflow: true },
    { name: 'dataframe_split without columns', body: { dataframe_split: { data: [R1] } }, echoedByMlflow: true },
    { name: 'inputs as a list of rows', body: { inputs: [R1] }, echoedByMlflow: true },
    { name: 'no records', body: { dataframe_records: [] } },
    { name: 'a word in a double column', body: { dataframe_records: [{ ...record(cols, R1), age: 'old' }] }, echoedByMlflow: true },
    { name: 'a list inside one cell', body: split(cols, [[[R1[0]], ...R1.slice(1)]]) },
    recordsOfLists([R1], expectError(400, 'INVALID_PARAMETER_VALUE')),
    ...protocolCases(split(cols, [R1]), csvOf(cols, [R1])),
  ];
}

const C1 = [5.1, 3.5, 1.4, 0.2];
const C2 = [6.2, 2.9, 4.3, 1.3];
const C3 = [7.7, 3.0, 6.1, 2.3];
const POSITIONS = ['0', '1', '2', '3'];

/** An ONNX classifier whose signature is one unnamed float32 tensor of shape (-1, 4). */
function classifierCases(): Case[] {
  return [
    { name: 'inputs', body: { inputs: [C1, C2, C3] } },
    { name: 'instances', body: { instances: [C1, C2] } },
    { name: 'dataframe_split', body: { dataframe_split: { data: [C1, C2] } } },
    { name: 'dataframe_split with columns', body: split(POSITIONS, [C1]) },
    { name: 'dataframe_records', body: { dataframe_records: [record(POSITIONS, C1), record(POSITIONS, C3)] } },
    { name: 'integers for a float tensor', body: { inputs: [[5, 3, 1, 0]] } },
    { name: 'booleans for a float tensor', body: { inputs: [[true, 3.5, 1.4, 0.2]] } },
    { name: 'a number sent as text', body: { inputs: [['5.1', 3.5, ' 1.4 ', 0.2]] } },
    { name: 'numbers as text with a digit separator and other digits', body: { inputs: [['5_1', '\uff13.\uff15', '1.4', '0.2']] } },
    { name: 'numbers as text in a dataframe_split', body: { dataframe_split: { data: [['5.1', '3.5', '1.4', '0.2']] } } },
    { name: 'null and nan (NaN)', body: { inputs: [[null, 3.5, 'nan', 0.2], C2] } },
    { name: 'a dataframe_split row shorter than the others (NaN)', body: { dataframe_split: { data: [C1, C2.slice(0, 2)] } } },
    { name: 'a row of the wrong width', body: { inputs: [[1.5, 2.5, 3.5]] }, echoedByMlflow: true },
    { name: 'a rank-1 array', body: { inputs: C1 }, echoedByMlflow: true },
    { name: 'a rank-3 array', body: { inputs: [[C1]] }, echoedByMlflow: true },
    { name: 'a scalar', body: { inputs: 5.5 }, echoedByMlflow: true },
    { name: 'empty inputs', body: { inputs: [] } },
    { name: 'an empty dataframe_split', body: { dataframe_split: { data: [] } } },
    { name: 'no records', body: { dataframe_records: [] } },
    { name: 'a word', body: { inputs: [['tall', 3.5, 1.4, 0.2]] } },
    { name: 'an empty string', body: { inputs: [['', 3.5, 1.4, 0.2]] } },
    { name: 'ragged rows in inputs', body: { inputs: [C1, [1.5, 2.5]] } },
    { name: 'a list inside one cell', body: { dataframe_split: { data: [[[5.1], 3.5, 1.4, 0.2]] } }, echoedByMlflow: true },
    { name: 'a list inside one cell of a record', body: { dataframe_records: [{ ...record(POSITIONS, C1), '0': [5.1] }] } },
    { name: 'a dict where a number belongs', body: { inputs: [[{ a: 1.5 }, 3.5, 1.4, 0.2]] } },
    { name: 'inputs as a dict of columns', body: { inputs: Object.fromEntries(POSITIONS.map((c, i) => [c, [C1[i]]])) } },
    { name: 'inputs as a dict keyed by the ONNX input name', body: { inputs: { input: [C1] } } },
    { name: 'instances as records', body: { instances: [record(POSITIONS, C1)] }, echoedByMlflow: true },
    {
      name: 'CSV',
      text: csvOf(POSITIONS, [C1, C2]),
      contentType: 'text/csv',
      deviation: {
        why: 'MLflow cannot read CSV for a tensor signature ("TensorSpec only supports numpy types")',
        ours: expectPredictions,
        theirs: expectError(400, 'BAD_REQUEST'),
      },
    },
    {
      name: 'a dataframe_split with columns and no rows',
      body: split(POSITIONS, []),
      deviation: {
        why: 'MLflow fails inside pandas (IndexError) with BAD_REQUEST; without columns it answers INVALID_PARAMETER_VALUE, as mldeploy does for both',
        ours: expectError(400, 'INVALID_PARAMETER_VALUE'),
        theirs: expectError(400, 'BAD_REQUEST'),
      },
    },
    recordsOfLists([C1], expectPredictions),
    ...protocolCases({ inputs: [C1] }, csvOf(POSITIONS, [C1])),
  ];
}

const IRIS_COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

/** A scikit-learn model (python_function), which mldeploy serves through MLflow's own scoring server. */
function pyfuncCases(): Case[] {
  const cols = IRIS_COLUMNS;
  return [
    { name: 'dataframe_split', body: split(cols, [C1, C2, C3]) },
    { name: 'dataframe_records', body: { dataframe_records: [record(cols, C1), record(cols, C2)] } },
    { name: 'instances as records', body: { instances: [record(cols, C3)] } },
    { name: 'inputs as a dict of columns', body: { inputs: Object.fromEntries(cols.map((c, i) => [c, [C1[i], C2[i]]])) } },
    { name: 'CSV', text: csvOf(cols, [C1, C2]), contentType: 'text/csv' },
    { name: 'numbers as text, Python-style', body: split(cols, [['5_1', '3.5', '\uff11.4', '0.2']]) },
    { name: 'inputs as a list of rows', body: { inputs: [C1] }, echoedByMlflow: true },
    { name: 'a missing column', body: split(cols.slice(0, 3), [[5.15, 3.55, 1.45]]), echoedByMlflow: true },
    {
      name: 'a word in a double column',
      body: { dataframe_records: [{ ...record(cols, C1), sepal_length: 'tall' }] },
      echoedByMlflow: true,
    },
    { name: 'a list inside one cell', body: split(cols, [[[5.1], 3.5, 1.4, 0.2]]) },
    { name: 'a dataframe_split row shorter than the others (NaN, which the model refuses)', body: split(cols, [C1, C2.slice(0, 2)]) },
    { name: 'no rows', body: split(cols, []) },
    { name: 'no records', body: { dataframe_records: [] } },
    recordsOfLists([[5.15, 3.55, 1.45, 0.25]], expectError(400, 'INVALID_PARAMETER_VALUE')),
    ...protocolCases(split(cols, [C1]), csvOf(cols, [C1])),
  ];
}

const CASES: Record<ModelName, Case[]> = { regressor: regressorCases(), classifier: classifierCases(), pyfunc: pyfuncCases() };

const registry = registryForTests<Trained>('train_parity_models.py', 300_000);
const servers = new Map<ModelName, SideBySide>();

beforeAll(async () => {
  const names = Object.keys(CASES) as ModelName[];
  const started = await Promise.allSettled(names.map((name) => serveSideBySide(registry.made[name].uri, registry.url)));
  for (const [i, result] of started.entries()) if (result.status === 'fulfilled') servers.set(names[i]!, result.value);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}, 300_000);

afterAll(async () => {
  await Promise.all([...servers.values()].flatMap(({ ours, theirs }) => [ours.stop(), theirs.stop()]));
});

for (const [model, cases] of Object.entries(CASES) as [ModelName, Case[]][]) {
  describe(`${model}: mldeploy models serve answers as mlflow models serve, on the same freshly trained registry model`, () => {
    it.each(cases.map((c) => [c.deviation === undefined ? c.name : `${c.name} (deviation: ${c.deviation.why})`, c] as const))(
      '%s',
      async (_name, testCase) => {
        const { ours: ourServer, theirs: theirServer } = servers.get(model)!;
        const [ours, theirs] = await Promise.all([ask(ourServer.url, testCase), ask(theirServer.url, testCase)]);
        const context = `mldeploy: ${ours.status} ${ours.text.slice(0, 300)}\nMLflow: ${theirs.status} ${theirs.text.slice(0, 300)}`;
        // mldeploy's answers are strict JSON (MLflow's may hold bare NaN).
        if (ours.text !== '') expect(() => JSON.parse(ours.text) as unknown, context).not.toThrow();
        if (testCase.deviation !== undefined) {
          testCase.deviation.ours(ours);
          testCase.deviation.theirs(theirs);
          return;
        }
        expect(ours.status, context).toBe(theirs.status);
        if (theirs.status === 200) {
          expect(closeTo(ours.json, theirs.json), context).toBe(true);
          return;
        }
        expect(ours.json?.['error_code'], context).toBe(theirs.json?.['error_code']);
        expect(ours.json?.['error_class'], context).toBe(theirs.json?.['error_class']);
        expect(ours.json?.['sqlstate'], context).toBe(theirs.json?.['sqlstate']);
        const message = String(ours.json?.['message']);
        for (const value of requestValues(testCase.body)) expect(message, `mldeploy repeats ${JSON.stringify(value)}`).not.toContain(value);
        if (testCase.echoedByMlflow === true) {
          expect(
            requestValues(testCase.body).some((value) => String(theirs.json?.['message']).includes(value)),
            `MLflow's message repeats the request: ${context}`,
          ).toBe(true);
        }
      },
    );
  });
}
