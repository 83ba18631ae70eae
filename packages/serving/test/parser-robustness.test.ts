import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, serveFixture, type RunningServer } from './support.js';

const IRIS_COLUMNS = ['sepal length (cm)', 'sepal width (cm)', 'petal length (cm)', 'petal width (cm)'];
const DIABETES = ['age', 'bmi', 'bp', 's5'];
const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

// Found by trying the scoring server as an attacker would: each of these answered 500 (a stack
// overflow or a URIError). Input problems are the caller's: 4xx with a message, never 5xx.
describe('request parsing never answers 5xx', () => {
  let iris: RunningServer;
  let regressor: RunningServer;
  let multi: RunningServer;
  beforeAll(async () => {
    [iris, regressor, multi] = await Promise.all([
      serveFixture('onnx-iris', { modelName: 'iris', maxBodyBytes: 64 * 1024 * 1024 }),
      // A column signature (doubles) and a model with a float and an int64 input: the other conversion paths.
      serveFixture('onnx-regressor'),
      serveFixture('onnx-multi-input', { modelName: 'multi' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([iris, regressor, multi].map((running) => running?.server.stop()));
  });

  const invocations = (body: string, type = 'application/json'): ReturnType<typeof post> => post(`${iris.url}/invocations`, body, type);

  it('a dataframe_split of 200,000 rows is scored (no spread of the rows into Math.max)', async () => {
    const data = Array.from({ length: 200_000 }, () => [5.1, 3.5, 1.4, 0.2]);
    const answer = await invocations(JSON.stringify({ dataframe_split: { columns: IRIS_COLUMNS, data } }));
    expect(answer.status).toBe(200);
    // Multi-output models answer a dict of columns, as MLflow does.
    expect((answer.body as { predictions: { label: unknown[] } }).predictions.label).toHaveLength(200_000);
  });

  it('JSON nested 100,000 deep is 400 with a message, in every format and in the OIP', async () => {
    for (const body of [
      `{"inputs": ${nested(100_000)}}`,
      `{"instances": ${nested(100_000)}}`,
      `{"dataframe_split": {"columns": ["a"], "data": ${nested(100_000)}}}`,
      `{"inputs": [[1, 2, 3, 4]], "params": ${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`,
    ]) {
      const answer = await invocations(body);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        error_code: 'BAD_REQUEST',
        message: expect.stringMatching(/more than 32 levels deep/) as string,
      });
    }
    const oip = await post(
      `${iris.url}/v2/models/iris/infer`,
      `{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": ${nested(100_000)}}]}`,
      'application/json',
    );
    expect(oip.status).toBe(400);
  });

  it('a malformed percent-escape in a model path is 400', async () => {
    for (const path of ['/v2/models/%zz/infer', '/v2/models/iris%/ready', '/v2/models/iris/versions/%E0%A4%A/infer']) {
      const answer = await fetch(`${iris.url}${path}`, {
        method: path.endsWith('infer') ? 'POST' : 'GET',
        body: path.endsWith('infer') ? '{}' : undefined,
      });
      expect(answer.status).toBe(400);
    }
  });

  // Any JSON document in any of MLflow's request shapes, and arbitrary text as JSON or CSV: the
  // server answers 2xx or 4xx, and is still up afterwards.
  it('any generated body gets 2xx or 4xx, never 5xx (property)', async () => {
    const value = fc.jsonValue({ maxDepth: 6 });
    // Rows of four features that mostly fit, with missing, infinite and textual ones among them: mostly scored.
    const feature = fc.oneof(
      { weight: 8, arbitrary: fc.double({ min: -10, max: 10, noNaN: true }) },
      fc.constantFrom(null, 1e308, '1.5', 'nan', 'inf', 'x', true),
    );
    const shaped = fc.oneof(
      fc.record({ inputs: fc.array(fc.tuple(feature, feature, feature, feature), { maxLength: 4 }) }).map((v) => JSON.stringify(v)),
      value.map((v) => JSON.stringify(v)),
      fc.record({ inputs: value }).map((v) => JSON.stringify(v)),
      fc.record({ instances: value }).map((v) => JSON.stringify(v)),
      fc
        .record({ dataframe_split: fc.record({ columns: fc.array(fc.string(), { maxLength: 5 }), data: value }, { requiredKeys: [] }) })
        .map((v) => JSON.stringify(v)),
      fc
        .record({ dataframe_records: fc.array(fc.dictionary(fc.constantFrom(...IRIS_COLUMNS, 'x'), value), { maxLength: 5 }) })
        .map((v) => JSON.stringify(v)),
      fc
        .record(
          {
            inputs: fc.array(fc.array(fc.oneof(fc.double(), fc.constant(null), fc.string()), { maxLength: 5 }), { maxLength: 5 }),
            params: value,
          },
          { requiredKeys: ['inputs'] },
        )
        .map((v) => JSON.stringify(v)),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(shaped, fc.constantFrom('application/json', 'text/csv'), async (body, type) => {
        const answer = await invocations(body, type);
        return answer.status >= 200 && answer.status < 500;
      }),
      { numRuns: 300 },
    );
    expect((await fetch(`${iris.url}/ping`)).status).toBe(200);
  });

  // CSV as people and programs write it, and as they get it wrong: any of it, under any of the
  // content types a client might send, gets 2xx or 4xx from a tensor-signature and a
  // column-signature model; both still score a valid request afterwards.
  it('any generated CSV body gets 2xx or 4xx, never 5xx (property)', async () => {
    const numeric = fc.oneof(
      { weight: 4, arbitrary: fc.double({ min: -10, max: 10, noNaN: true }).map(String) },
      { weight: 2, arbitrary: fc.integer({ min: -100, max: 100 }).map(String) },
      fc.constantFrom('', 'NA', 'nan', 'NaN', 'inf', '-inf', 'Infinity', '1e400', '-1e400', 'None', '#N/A', '1e308', '9007199254740993'),
    );
    const field = fc.oneof(
      numeric,
      fc.constantFrom('True', 'false', '0x10', '1_0', ' 3 ', '.5', '1.', '1e', '-0', '"', '""', 'a"b', '"a""b"'),
      fc.double().map(String),
      fc.string({ unit: 'grapheme', maxLength: 8 }),
      fc.string({ maxLength: 8 }).map((text) => `"${text.replaceAll('"', '""')}"`),
    );
    const eol = fc.constantFrom('\n', '\r\n', '\r');
    const lines = (names: string, rows: string[][], end: string): string => [names, ...rows.map((row) => row.join(','))].join(end) + end;
    const csv = (columns: string) =>
      fc.oneof(
        // The model's columns, four fields a row: mostly scored, with odd values in them.
        fc
          .tuple(fc.array(fc.array(numeric, { minLength: 4, maxLength: 4 }), { maxLength: 6 }), eol)
          .map(([rows, end]) => lines(columns, rows, end)),
        fc
          .tuple(
            fc.oneof(
              fc.constant(columns),
              fc.array(field, { minLength: 1, maxLength: 6 }).map((names) => names.join(',')),
            ),
            fc.array(fc.array(field, { maxLength: 6 }), { maxLength: 8 }),
            eol,
          )
          .map(([names, rows, end]) => lines(names, rows, end)),
        fc.string({ unit: 'binary', maxLength: 200 }),
      );
    const target = fc.oneof(
      fc.record({ url: fc.constant(() => iris.url), body: csv('0,1,2,3') }),
      fc.record({ url: fc.constant(() => regressor.url), body: csv(DIABETES.join(',')) }),
    );
    const type = fc.constantFrom(
      'text/csv',
      'text/csv',
      'application/csv',
      'text/csv; charset=utf-8',
      'text/csv; charset=latin-1',
      'text/csv; header=present',
      'text/plain',
      'application/json',
    );
    await fc.assert(
      fc.asyncProperty(target, type, async ({ url, body }, contentType) => {
        const answer = await post(`${url()}/invocations`, body, contentType);
        return answer.status >= 200 && answer.status < 500;
      }),
      { numRuns: 400 },
    );
    expect((await post(`${iris.url}/invocations`, '0,1,2,3\n5.1,3.5,1.4,0.2\n', 'text/csv')).status).toBe(200);
    expect((await post(`${regressor.url}/invocations`, `${DIABETES.join(',')}\n0.03,0.06,0.02,0.02\n`, 'text/csv')).status).toBe(200);
  });

  // Open Inference Protocol bodies: well-formed inputs with odd values (huge, missing, infinite,
  // text, unicode) in any datatype and shape, malformed inputs, and anything else; to a model with
  // one float input and one with a float and an int64 input.
  it('any generated Open Inference Protocol body gets 2xx or 4xx, never 5xx (property)', async () => {
    // Stand-ins replaced after JSON.stringify by what it cannot write: Python's constants, 1e400.
    const RAW: Record<string, string> = { '"<NaN>"': 'NaN', '"<Inf>"': 'Infinity', '"<-Inf>"': '-Infinity', '"<1e400>"': '1e400' };
    const element = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.constantFrom(null, true, false, 1e308, -1e308, 2 ** 63, 2 ** 53 + 1, -0, '1.5', 'nan', 'inf', '', '7'),
      fc.constantFrom(...Object.keys(RAW).map((raw) => raw.slice(1, -1))),
      fc.string({ unit: 'grapheme', maxLength: 6 }),
    );
    const data = fc.oneof(
      fc.array(element, { maxLength: 12 }),
      fc.array(fc.array(element, { maxLength: 4 }), { maxLength: 4 }),
      fc.jsonValue({ maxDepth: 3 }),
    );
    const input = fc.record(
      {
        name: fc.oneof(fc.constantFrom('input', 'a', 'b', ''), fc.string({ maxLength: 6 })),
        shape: fc.oneof(
          fc.constantFrom([1, 4], [2, 4], [0, 4], [4], [1], [2], [3, 1], []),
          fc.array(fc.integer({ min: -2, max: 5 }), { maxLength: 4 }),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        datatype: fc.oneof(
          fc.constantFrom('FP32', 'FP64', 'FP16', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT64', 'BOOL', 'BYTES', 'fp32'),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        data,
      },
      { requiredKeys: [] },
    );
    const request = fc.record(
      {
        inputs: fc.oneof(fc.array(input, { maxLength: 3 }), fc.jsonValue({ maxDepth: 3 })),
        outputs: fc.oneof(
          fc.array(fc.record({ name: fc.constantFrom('label', 'probabilities', 'y', 'nope') })),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        id: fc.jsonValue({ maxDepth: 1 }),
        parameters: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: ['inputs'] },
    );
    const json = (value: unknown): string =>
      Object.entries(RAW).reduce((text, [stand, raw]) => text.replaceAll(stand, raw), JSON.stringify(value));
    // Well-formed requests for each model, whose values are mostly ones that fit: mostly scored.
    const fitting = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 100 }) },
      { weight: 3, arbitrary: fc.double({ min: -10, max: 10, noNaN: true }) },
      element,
    );
    const tensor = (name: string, rows: number, width: number | undefined) =>
      fc.record({
        name: fc.constant(name),
        shape: fc.constant(width === undefined ? [rows] : [rows, width]),
        datatype: fc.constantFrom('FP32', 'FP32', 'FP64', 'INT64', 'INT32', 'UINT8', 'BOOL'),
        data: fc.array(fitting, { minLength: rows * (width ?? 1), maxLength: rows * (width ?? 1) }),
      });
    const rows = fc.integer({ min: 0, max: 3 });
    const irisRequest = rows.chain((n) => fc.record({ inputs: fc.tuple(tensor('input', n, 4)) }));
    const multiRequest = rows.chain((n) => fc.record({ inputs: fc.tuple(tensor('a', n, undefined), tensor('b', n, undefined)) }));
    const anything = fc.oneof(
      { weight: 6, arbitrary: request.map(json) },
      { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
      {
        weight: 1,
        arbitrary: fc
          .integer({ min: 33, max: 5000 })
          .map((depth) => `{"inputs": [{"name": "input", "shape": [1], "datatype": "FP32", "data": ${nested(depth)}}]}`),
      },
    );
    const target = fc.oneof(
      fc.record({ url: fc.constant(() => `${iris.url}/v2/models/iris/infer`), body: fc.oneof(irisRequest.map(json), anything) }),
      fc.record({ url: fc.constant(() => `${multi.url}/v2/models/multi/infer`), body: fc.oneof(multiRequest.map(json), anything) }),
    );
    await fc.assert(
      fc.asyncProperty(target, fc.constantFrom('application/json', 'text/csv', 'text/plain', ''), async ({ url, body }, contentType) => {
        const answer = await post(url(), body, contentType === '' ? undefined : contentType);
        return answer.status >= 200 && answer.status < 500;
      }),
      { numRuns: 400 },
    );
    const valid = await post(
      `${iris.url}/v2/models/iris/infer`,
      JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }),
      'application/json',
    );
    expect(valid.status).toBe(200);
  });
});
