import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MlDeployError } from '@mldeploy/core';
import { loadServedModel, parseCsv, parseModelUri, readMlModel } from '@mldeploy/serving';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';
import { pyfuncOptions } from './support.js';

async function failure(promise: Promise<unknown>): Promise<MlDeployError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MlDeployError);
  return error as MlDeployError;
}

function modelWith(mlmodel: string | undefined, files: Record<string, string> = {}): string {
  const dir = path.join(tempDir('mlmodel'), 'model');
  mkdirSync(dir, { recursive: true });
  if (mlmodel !== undefined) writeFileSync(path.join(dir, 'MLmodel'), mlmodel);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('MLmodel files', () => {
  it('reads flavors, the signature’s JSON strings and the serving input example', async () => {
    const model = await readMlModel(path.join(FIXTURE_MODELS, 'onnx-regressor'));
    expect(Object.keys(model.flavors).sort()).toEqual(['onnx', 'python_function']);
    expect(model.signature?.inputs).toMatchObject({
      kind: 'columns',
      columns: [{ name: 'age', type: 'double', required: true }, { name: 'bmi' }, { name: 'bp' }, { name: 's5' }],
    });
    expect(model.signature?.outputs).toMatchObject({ kind: 'tensors', tensors: [{ dtype: 'float32', shape: [-1, 1] }] });
    expect(model.servingInputExample).toMatchObject({ dataframe_split: { columns: ['age', 'bmi', 'bp', 's5'] } });
    expect(model.mlflowVersion).toBe('3.17.2');
  });

  it.each([
    ['a missing MLmodel', undefined, /MLmodel does not exist: the folder is not an MLflow model directory/],
    ['invalid YAML', 'flavors: [unclosed\n', /MLmodel is not valid YAML at line \d+/],
    ['no flavors', 'model_uuid: abc\n', /MLmodel has no flavors/],
    ['a flavor that is not a mapping', 'flavors:\n  onnx: 3\n', /has a flavor "onnx" whose settings are not a mapping/],
    ['a broken signature', 'flavors:\n  onnx: {data: model.onnx}\nsignature:\n  inputs: \'[{"type": \'\n', /signature inputs is malformed/],
    [
      'a signature mixing tensors and columns',
      'flavors:\n  onnx: {data: model.onnx}\nsignature:\n  inputs: \'[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1]}}, {"type": "double"}]\'\n',
      /mixes tensor and column specs/,
    ],
    [
      'an input example outside the folder',
      'flavors:\n  onnx: {data: model.onnx}\nsaved_input_example_info:\n  serving_input_path: ../../etc/passwd\n',
      /serving_input_path "\.\.\/\.\.\/etc\/passwd" points outside the model directory/,
    ],
  ])('%s is a clear INVALID_PARAMETER_VALUE', async (_what, text, message) => {
    const error = await failure(readMlModel(modelWith(text)));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toMatch(message);
  });

  it('an onnx flavor whose data path leaves the folder is refused', async () => {
    const error = await failure(loadServedModel(modelWith('flavors:\n  onnx: {data: ../../model.onnx}\n'), { pyfunc: pyfuncOptions() }));
    expect(error.message).toMatch(/the onnx flavor’s data "\.\.\/\.\.\/model\.onnx" points outside the model directory/);
  });

  it('a model file that is not ONNX is a load error naming it', async () => {
    const dir = path.join(tempDir('corrupt'), 'model');
    cpSync(path.join(FIXTURE_MODELS, 'onnx-iris'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.onnx'), 'garbage');
    const error = await failure(loadServedModel(dir, { pyfunc: pyfuncOptions() }));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toMatch(/onnxruntime could not load .*model\.onnx/);
  });

  it('flavors: a model without a servable flavor, and a forced flavor it lacks', async () => {
    expect((await failure(loadServedModel(modelWith('flavors:\n  spark: {}\n'), { pyfunc: pyfuncOptions() }))).message).toMatch(
      /has no flavor mldeploy can serve \(it has spark/,
    );
    expect(
      (await failure(loadServedModel(path.join(FIXTURE_MODELS, 'sklearn-iris'), { flavor: 'onnx', pyfunc: pyfuncOptions() }))).code,
    ).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(
      (await failure(loadServedModel(path.join(FIXTURE_MODELS, 'onnx-iris'), { flavor: 'keras', pyfunc: pyfuncOptions() }))).message,
    ).toMatch(/Flavor "keras" cannot be served/);
  });
});

describe('model URIs (MLflow §8)', () => {
  it.each([
    ['models:/iris/3', { kind: 'models', name: 'iris', selector: { by: 'version', version: '3' }, subPath: '' }],
    ['models:/iris@champion', { kind: 'models', name: 'iris', selector: { by: 'alias', alias: 'champion' }, subPath: '' }],
    ['models:/iris/Production', { kind: 'models', name: 'iris', selector: { by: 'stage', stage: 'Production' }, subPath: '' }],
    ['models:/iris/LATEST', { kind: 'models', name: 'iris', selector: { by: 'latest' }, subPath: '' }],
    ['models:/iris/1/sub/dir', { kind: 'models', name: 'iris', selector: { by: 'version', version: '1' }, subPath: 'sub/dir' }],
    ['models:/m-0123456789abcdef0123456789abcdef', { kind: 'logged-model', modelId: 'm-0123456789abcdef0123456789abcdef', subPath: '' }],
    ['runs:/abc123/model', { kind: 'runs', runId: 'abc123', path: 'model' }],
    ['mlflow-artifacts:/1/abc/artifacts', { kind: 'artifacts', uri: 'mlflow-artifacts:/1/abc/artifacts' }],
    ['file:///srv/model', { kind: 'local', path: '/srv/model' }],
    ['relative/model', { kind: 'local', path: '/work/relative/model' }],
  ])('%s', (uri, expected) => {
    expect(parseModelUri(uri, '/work')).toEqual(expected);
  });

  it.each([
    ['models:iris/1', /Not a proper models:\/ URI/],
    ['models:/', /Not a proper models:\/ URI/],
    ['models:/iris@', /Not a proper models:\/ URI/],
    ['runs:/', /Not a proper runs:\/ URI/],
    ['s3://bucket/model', /scheme "s3" are not supported/],
    ['m-0123456789abcdef0123456789abcdef', /Maybe you meant 'models:\/m-0123456789abcdef0123456789abcdef'\?/],
  ])('%s is refused', (uri, message) => {
    expect(() => parseModelUri(uri, '/work')).toThrow(message);
  });
});

describe('CSV as pandas.read_csv reads it', () => {
  it('types columns: integers, floats (with missing values), booleans, strings; quoted fields', () => {
    expect(parseCsv('a,b,c,d\n1,1.5,True,"x, ""y"""\n2,,False,z\n')).toEqual({
      columns: ['a', 'b', 'c', 'd'],
      rows: [
        [1, 1.5, true, 'x, "y"'],
        [2, null, false, 'z'],
      ],
    });
    expect(parseCsv('a\r\n1\r\n\r\n2\r\n')).toEqual({ columns: ['a'], rows: [[1], [2]] });
  });

  it("reads pandas' NA markers as missing and inf, nan and overflowing numbers as pandas does", () => {
    expect(parseCsv('a,b,c\nNA,inf,x\nNone,-Infinity,NA\n#N/A,1e400,\n1,nan,y\n')).toEqual({
      columns: ['a', 'b', 'c'],
      rows: [
        [null, Infinity, 'x'],
        [null, -Infinity, null],
        [null, Infinity, null],
        [1, null, 'y'],
      ],
    });
    // Only the exact markers: 'na' and ' NA' are text, as in pandas.
    expect(parseCsv('a\nna\n NA\n').rows).toEqual([['na'], [' NA']]);
  });

  it('refuses empty input, an unterminated quote and rows longer than the header', () => {
    expect(() => parseCsv('')).toThrow(/No columns to parse from file/);
    expect(() => parseCsv('a\n"open\n')).toThrow(/EOF inside string/);
    expect(() => parseCsv('a,b\n1,2,3\n')).toThrow(/Expected 2 fields in line 2, saw 3/);
  });
});
