import { describe, expect, it } from 'vitest';
import { MlDeployError } from '@mldeploy/core';
import { parseContentType, parseJsonRequest } from '@mldeploy/serving';

function failure(run: () => unknown): MlDeployError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MlDeployError);
    return error as MlDeployError;
  }
  throw new Error('expected an error');
}

describe('scoring request parsing (MLflow §6.3, §6.4)', () => {
  it.each([
    [
      'a dataframe_split whose rows and columns disagree',
      { dataframe_split: { columns: ['a', 'b'], data: [[1, 2, 3]] } },
      /not a valid dataframe representation in 'split' format. Error: '2 columns passed, passed data had 3 columns'/,
    ],
    [
      'a dataframe_split with a row longer than its columns',
      {
        dataframe_split: {
          columns: ['a', 'b'],
          data: [
            [1, 2],
            [3, 4, 5],
          ],
        },
      },
      /Error: '2 columns passed, passed data had 3 columns'/,
    ],
    ['a dataframe_split whose data is not a list', { dataframe_split: { data: 5 } }, /data must be a list of rows/],
    ['duplicate column names', { dataframe_split: { columns: ['a', 'a'], data: [[1, 2]] } }, /column names must be unique/],
    [
      'dataframe_records holding non-records',
      { dataframe_records: [1, 2] },
      /Dataframe records format must be a list of records. Got a list containing int/,
    ],
    ['dataframe_records as a string', { dataframe_records: 'x' }, /Got type <class 'str'>/],
    ['params that are not a dict', { inputs: [1], params: [1] }, /'params' must be a dictionary. Got list/],
    ['an unknown top-level key', { inputs: [1], extra: 1 }, /Unknown top-level fields: \['extra'\]/],
  ])('%s is BAD_REQUEST (400)', (_what, body, message) => {
    const error = failure(() => parseJsonRequest(JSON.stringify(body)));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
  });

  it('a dataframe_split row shorter than the others is missing its last values, as pandas builds the frame', () => {
    expect(parseJsonRequest('{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3]]}}')).toEqual({
      kind: 'table',
      table: {
        columns: ['a', 'b'],
        rows: [
          [1, 2],
          [3, null],
        ],
      },
      params: undefined,
    });
  });

  it('reads every format, with params, and LLM bodies whole', () => {
    expect(parseJsonRequest('{"dataframe_split": {"columns": ["a"], "data": [[1]]}, "params": {"k": 2}}')).toEqual({
      kind: 'table',
      table: { columns: ['a'], rows: [[1]] },
      params: { k: 2 },
    });
    expect(parseJsonRequest('{"dataframe_records": [{"a": 1}, {"b": 2}]}')).toEqual({
      kind: 'table',
      table: {
        columns: ['a', 'b'],
        rows: [
          [1, null],
          [null, 2],
        ],
      },
      params: undefined,
    });
    expect(parseJsonRequest('{"instances": [[1, 2]]}')).toEqual({
      kind: 'tensor',
      format: 'instances',
      value: [[1, 2]],
      params: undefined,
    });
    expect(parseJsonRequest('{"messages": [{"role": "user", "content": "hi"}], "temperature": 0.1}')).toMatchObject({ kind: 'llm' });
  });

  it.each([
    ['application/json', 'json'],
    ['APPLICATION/JSON; charset=utf-8', 'json'],
    ['text/csv', 'csv'],
    ['application/csv; charset="UTF-8"', 'csv'],
  ])('Content-Type %s is %s', (header, format) => {
    expect(parseContentType(header)).toBe(format);
  });

  it.each([
    [undefined, /Missing Content-Type header/],
    ['text/plain', /This predictor only supports the following content types/],
    ['application/json; charset=latin-1', /only supports UTF-8/],
    [
      'application/json; format=pandas-split',
      /Unrecognized content type parameters: format\. IMPORTANT: The MLflow Model scoring protocol has changed/,
    ],
  ])('Content-Type %s is 415', (header, message) => {
    const error = failure(() => parseContentType(header));
    expect(error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(error.status).toBe(415);
    expect(error.message).toMatch(message);
  });
});
