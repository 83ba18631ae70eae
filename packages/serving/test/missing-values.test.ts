import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';
import { closeTo, serveFixture, type RunningServer } from './support.js';

const IRIS_ROW = [5.1, 3.5, 1.4, 0.2];
const IRIS_ROW_PROBABILITIES = [0.9815728664398193, 0.018427137285470963, 1.4781146084885677e-8];
const DIABETES = ['age', 'bmi', 'bp', 's5'];

/** Posts `body` as it is (Python's NaN and Infinity included) and reads the answer as strict JSON. */
async function score(url: string, body: string, type = 'application/json'): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', body, headers: { 'content-type': type } });
  const text = await response.text();
  // JSON.parse refuses MLflow's bare NaN and Infinity: an answer that parses here is valid JSON.
  return { status: response.status, json: JSON.parse(text) as Record<string, unknown> };
}

/**
 * What MLflow 3.17's scoring server does, found by sending these bodies to it: a missing (null,
 * NaN) or infinite feature reaches a float input as NaN or ±inf and the model answers (with NaN
 * or ±Infinity, written bare, which is not JSON); an integer input refuses them with 400
 * BAD_REQUEST. mldeploy does the same, writes non-finite outputs as null, and names the place.
 */
describe('missing and non-finite feature values (issue 8, finding 10)', () => {
  let iris: RunningServer;
  let regressor: RunningServer;
  let multi: RunningServer;
  let longAge: RunningServer;
  beforeAll(async () => {
    // The regressor with `age` declared long: a column schema with an integer column.
    const dir = path.join(tempDir('long-age'), 'model');
    cpSync(path.join(FIXTURE_MODELS, 'onnx-regressor'), dir, { recursive: true });
    const mlmodel = path.join(dir, 'MLmodel');
    writeFileSync(mlmodel, readFileSync(mlmodel, 'utf8').replace('{"type": "double", "name": "age"', '{"type": "long", "name": "age"'));
    writeFileSync(
      path.join(dir, 'serving_input_example.json'),
      JSON.stringify({ dataframe_split: { columns: DIABETES, data: [[1, 0.1, 0.1, 0.1]] } }),
    );
    [iris, regressor, multi, longAge] = await Promise.all([
      serveFixture('onnx-iris', { modelName: 'iris' }),
      serveFixture('onnx-regressor'),
      serveFixture('onnx-multi-input', { modelName: 'multi' }),
      serveFixture('long-age', {}, dir),
    ]);
  });
  afterAll(async () => {
    await Promise.all([iris, regressor, multi, longAge].map((running) => running?.server.stop()));
  });

  it.each([
    ['null in inputs', '{"inputs": [[null, 3.5, 1.4, 0.2]]}'],
    ["Python's NaN in inputs (what json.dumps writes)", '{"inputs": [[NaN, 3.5, 1.4, 0.2]]}'],
    ['1e400, which parses as Infinity', '{"inputs": [[1e400, 3.5, 1.4, 0.2]]}'],
    ["Python's -Infinity in instances", '{"instances": [[-Infinity, 3.5, 1.4, 0.2]]}'],
    ['the text "NaN"', '{"inputs": [["NaN", 3.5, 1.4, 0.2]]}'],
    ['a float32 overflow (3.5e38)', '{"inputs": [[3.5e38, 3.5, 1.4, 0.2]]}'],
    [
      'a DataFrame with NaN as MLflow’s client sends it (to_dict split, json.dumps)',
      '{"dataframe_split": {"index": [0], "columns": ["0", "1", "2", "3"], "data": [[NaN, 3.5, 1.4, 0.2]]}}',
    ],
    ['null in dataframe_records', '{"dataframe_records": [{"0": null, "1": 3.5, "2": 1.4, "3": 0.2}]}'],
  ])('a float tensor input takes %s, and the NaN probabilities come back as null in valid JSON', async (_what, body) => {
    const { status, json } = await score(`${iris.url}/invocations`, body);
    expect(status).toBe(200);
    const predictions = json['predictions'] as { label: number[]; probabilities: unknown[][] };
    expect(predictions.probabilities).toEqual([[null, null, null]]);
    // The label is what the model makes of NaN (argmax), as in MLflow: a whole number.
    expect(Number.isInteger(predictions.label[0])).toBe(true);
  });

  it('a missing value spoils only its own row', async () => {
    const { status, json } = await score(`${iris.url}/invocations`, JSON.stringify({ inputs: [[null, 3.5, 1.4, 0.2], IRIS_ROW] }));
    expect(status).toBe(200);
    const { probabilities } = json['predictions'] as { probabilities: unknown[][] };
    expect(probabilities[0]).toEqual([null, null, null]);
    expect(closeTo(probabilities[1], IRIS_ROW_PROBABILITIES)).toBe(true);
  });

  it.each([
    ['an empty field', '0,1,2,3\n,3.5,1.4,0.2\n'],
    ["pandas' NA marker", '0,1,2,3\nNA,3.5,1.4,0.2\n'],
    ['nan', '0,1,2,3\nnan,3.5,1.4,0.2\n'],
    ['inf', '0,1,2,3\ninf,3.5,1.4,0.2\n'],
  ])('CSV with %s in a float column is scored, as pandas reads it', async (_what, csv) => {
    const { status, json } = await score(`${iris.url}/invocations`, csv, 'text/csv');
    expect(status).toBe(200);
    expect((json['predictions'] as { probabilities: unknown }).probabilities).toEqual([[null, null, null]]);
  });

  it.each([
    ['null', 'null'],
    ['1e400', '1e400'],
    ['-Infinity', '-Infinity'],
    ['"inf"', '"inf"'],
  ])('a double column takes %s; the regressor’s ±Infinity answer is null (MLflow writes a bare -Infinity)', async (_what, age) => {
    const { status, json } = await score(
      `${regressor.url}/invocations`,
      `{"dataframe_split": {"columns": ${JSON.stringify(DIABETES)}, "data": [[${age}, 0.1, 0.1, 0.1], [0.03, 0.06, 0.02, 0.02]]}}`,
    );
    expect(status).toBe(200);
    const [missing, present] = json['predictions'] as { variable: unknown }[];
    expect(missing).toEqual({ variable: null });
    expect(typeof present!.variable).toBe('number');
  });

  it.each([
    ['null', '{"inputs": {"a": [1.0, 2.0], "b": [3, null]}}', /The value at \[1\] of input b is missing \(null\)/],
    ['NaN', '{"inputs": {"a": [1.0, 2.0], "b": [NaN, 3]}}', /The value at \[0\] of input b is missing \(null\)/],
    ['1e400', '{"inputs": {"a": [1.0, 2.0], "b": [1e400, 3]}}', /The value at \[0\] of input b is Infinity/],
    [
      'null in a dataframe_split column',
      '{"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 2], [2.0, null]]}}',
      /The value at \[1\] of input b is missing \(null\)/,
    ],
  ])('an int64 tensor input refuses %s with 400 BAD_REQUEST naming the place (MLflow: 400 too)', async (_what, body, message) => {
    const { status, json } = await score(`${multi.url}/invocations`, body);
    expect(status).toBe(400);
    expect(json).toMatchObject({ error_code: 'BAD_REQUEST', hint: expect.stringMatching(/float input/) as string });
    expect(json['message']).toMatch(/int64 inputs cannot hold missing or infinite values/);
    expect(json['message']).toMatch(message);
  });

  it.each([
    ['null in row 1', '[[1, 0.1, 0.1, 0.1], [null, 0.1, 0.1, 0.1]]', /row 1 is missing \(null\)/],
    ['NaN in row 0', '[[NaN, 0.1, 0.1, 0.1]]', /row 0 is missing \(null\)/],
    ['1e400 in row 0', '[[1e400, 0.1, 0.1, 0.1]]', /row 0 is Infinity/],
  ])('a long column refuses %s with 400 BAD_REQUEST naming the column and the row (MLflow: 400 too)', async (_what, data, message) => {
    const { status, json } = await score(
      `${longAge.url}/invocations`,
      `{"dataframe_split": {"columns": ${JSON.stringify(DIABETES)}, "data": ${data}}}`,
    );
    expect(status).toBe(400);
    expect(json).toMatchObject({ error_code: 'BAD_REQUEST', hint: expect.stringMatching(/declare the column as double/) as string });
    expect(json['message']).toMatch(/Failed to convert column age to type 'int64'/);
    expect(json['message']).toMatch(message);
  });

  it('a long column refuses an empty CSV field (pandas: "Integer column has NA values"); a double column takes it', async () => {
    const refused = await score(`${longAge.url}/invocations`, 'age,bmi,bp,s5\n1,0.1,0.1,0.1\n,0.1,0.1,0.1\n', 'text/csv');
    expect(refused.status).toBe(400);
    expect(refused.json['message']).toMatch(/column age .*row 1 is missing/);
    const taken = await score(`${longAge.url}/invocations`, 'age,bmi,bp,s5\n1,,0.1,0.1\n', 'text/csv');
    expect(taken.status).toBe(200);
    expect(taken.json['predictions']).toEqual([{ variable: null }]);
  });

  it('the Open Inference Protocol follows the same rule: FP32 null is scored, an INT64 input refuses Infinity', async () => {
    const fp32 = await score(
      `${iris.url}/v2/models/iris/infer`,
      JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [null, 3.5, 1.4, 0.2] }] }),
    );
    expect(fp32.status).toBe(200);
    expect((fp32.json['outputs'] as { name: string; data: unknown[] }[]).find((o) => o.name === 'probabilities')?.data).toEqual([
      null,
      null,
      null,
    ]);
    // FP64 data converted to the model's int64 input: Infinity stays Infinity on the way (not NaN, not a string).
    const int64 = await score(
      `${multi.url}/v2/models/multi/infer`,
      '{"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]}, {"name": "b", "shape": [1], "datatype": "FP64", "data": [1e400]}]}',
    );
    expect(int64.status).toBe(400);
    expect(int64.json['error']).toMatch(/The value at \[0\] of input b is Infinity; int64 inputs cannot hold missing or infinite values/);
  });

  it('text that is not a number is still refused in a float input, naming the place but not repeating the text', async () => {
    const { status, json } = await score(`${iris.url}/invocations`, '{"inputs": [[5.1, "tall", 1.4, 0.2]]}');
    expect(status).toBe(400);
    expect(json).toMatchObject({ error_code: 'BAD_REQUEST' });
    expect(json['message']).toMatch(/could not convert string to float \(at \[0, 1\] of the input\)/);
    expect(json['message']).not.toContain('tall');
  });
});
