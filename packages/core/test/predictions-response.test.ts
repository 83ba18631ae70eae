import { describe, expect, it } from 'vitest';
import { MlDeployError, PredictionsResponse } from '@mldeploy/core';

describe('PredictionsResponse (MLflow §1.6)', () => {
  it('parses a response and serialises back to the same document, extra fields kept', () => {
    const text = '{"predictions": [1, 2, 3], "model_version": "4"}';
    const response = PredictionsResponse.fromJSON(text);
    expect(response.predictions).toEqual([1, 2, 3]);
    expect(JSON.parse(JSON.stringify(response))).toEqual({ predictions: [1, 2, 3], model_version: '4' });
  });

  it('rejects text that is not JSON with MLflow’s message', () => {
    const error = (() => {
      try {
        PredictionsResponse.fromJSON('{nope');
      } catch (e) {
        return e as MlDeployError;
      }
      return undefined;
    })();
    expect(error?.code).toBe('INTERNAL_ERROR');
    expect(error?.message).toBe('Predictions response contents are not valid JSON');
  });

  it.each(['[1, 2]', '{"outputs": [1]}', '"x"'])('rejects %s, which has no predictions field', (text) => {
    expect(() => PredictionsResponse.fromJSON(text)).toThrow(
      /Invalid response\. Predictions response contents must be a dictionary containing a 'predictions' field\. Instead, received: /,
    );
  });

  it('views a list of scalars as one column "0"', () => {
    const response = PredictionsResponse.from({ predictions: [0, 1, 2] });
    expect(response.asRecords()).toEqual([{ '0': 0 }, { '0': 1 }, { '0': 2 }]);
    expect(response.asColumns()).toEqual({ '0': [0, 1, 2] });
    expect(response.asArray()).toEqual([0, 1, 2]);
  });

  it('views records as rows', () => {
    const response = PredictionsResponse.from({
      predictions: [
        { a: 1, b: 'x' },
        { a: 2, b: 'y' },
      ],
    });
    expect(response.asRecords()).toEqual([
      { a: 1, b: 'x' },
      { a: 2, b: 'y' },
    ]);
    expect(response.asColumns()).toEqual({ a: [1, 2], b: ['x', 'y'] });
    expect(response.asArray()).toEqual([
      [1, 'x'],
      [2, 'y'],
    ]);
  });

  it('views a dict of lists (ONNX outputs) as columns', () => {
    const response = PredictionsResponse.from({
      predictions: {
        label: [0, 2],
        probabilities: [
          [0.9, 0.1],
          [0.2, 0.8],
        ],
      },
    });
    expect(response.asRecords()).toEqual([
      { label: 0, probabilities: [0.9, 0.1] },
      { label: 2, probabilities: [0.2, 0.8] },
    ]);
    expect(response.asColumns()).toEqual({
      label: [0, 2],
      probabilities: [
        [0.9, 0.1],
        [0.2, 0.8],
      ],
    });
    expect(response.asArray()).toEqual([
      [0, [0.9, 0.1]],
      [2, [0.2, 0.8]],
    ]);
  });

  it('views a dict of scalars as one row, and a string as one cell', () => {
    expect(PredictionsResponse.from({ predictions: { a: 1, b: 2 } }).asRecords()).toEqual([{ a: 1, b: 2 }]);
    expect(PredictionsResponse.from({ predictions: 'text' }).asRecords()).toEqual([{ '0': 'text' }]);
    expect(PredictionsResponse.from({ predictions: 'text' }).asArray()).toEqual(['text']);
  });

  it('views nested arrays as rows with numbered columns', () => {
    const response = PredictionsResponse.from({
      predictions: [
        [1, 2],
        [3, 4],
      ],
    });
    expect(response.asRecords()).toEqual([
      { '0': 1, '1': 2 },
      { '0': 3, '1': 4 },
    ]);
    expect(response.asArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });
});
