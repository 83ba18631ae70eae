import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, serveFixture, type RunningServer } from './support.js';

const IRIS_COLUMNS = ['sepal length (cm)', 'sepal width (cm)', 'petal length (cm)', 'petal width (cm)'];
const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

// Found by trying the scoring server as an attacker would: each of these answered 500 (a stack
// overflow or a URIError). Input problems are the caller's: 4xx with a message, never 5xx.
describe('request parsing never answers 5xx', () => {
  let iris: RunningServer;
  beforeAll(async () => {
    iris = await serveFixture('onnx-iris', { modelName: 'iris', maxBodyBytes: 64 * 1024 * 1024 });
  });
  afterAll(() => iris.server.stop());

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
    const shaped = fc.oneof(
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
});
