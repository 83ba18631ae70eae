import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { floatFromText, integerFromText } from '../src/models/number-text.js';
import { parsePythonJson, stringifyPythonJson } from '../src/serving/python-json.js';

describe("JSON as Python's json module reads and writes it", () => {
  it('reads bare NaN as null and Infinity, -Infinity as numbers, only outside strings', () => {
    expect(parsePythonJson('{"a": [NaN, Infinity, -Infinity, 1e400, "NaN", "Infinity \\" NaN"]}')).toEqual({
      a: [null, Infinity, -Infinity, Infinity, 'NaN', 'Infinity " NaN'],
    });
    expect(parsePythonJson('NaN')).toBeNull();
  });

  it.each(['[Infinity1]', '[1Infinity]', '[1.Infinity]', '[-NaN]', '[nan]', '[NaNx]', '[Infinit]', '{"a": NaN', '"NaN'])(
    'refuses %s, as json.loads does',
    (text) => {
      expect(() => parsePythonJson(text)).toThrow(SyntaxError);
    },
  );

  it('reports the error of the text as sent, not of its rewriting', () => {
    expect(() => parsePythonJson('[NaN, }')).toThrow(/NaN/);
  });

  it('reads every standard JSON document exactly as JSON.parse does (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(parsePythonJson(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('writes ±Infinity as ±1e999 and NaN as null; reading it back gives the numbers (property)', () => {
    expect(stringifyPythonJson({ a: [Infinity, -Infinity, Number.NaN, 1.5, 'Infinity'] })).toBe('{"a":[1e999,-1e999,null,1.5,"Infinity"]}');
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double(), fc.string())), (values) => {
        // JSON.stringify writes -0 as 0: numerically the same feature.
        expect(parsePythonJson(stringifyPythonJson(values))).toEqual(
          values.map((v) => (Number.isNaN(v) ? null : Object.is(v, -0) ? 0 : v)),
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe("numbers in text, as Python's float() and int() read them", () => {
  it.each([
    ['1.5', 1.5],
    [' 2e3 ', 2000],
    ['.5', 0.5],
    ['1.', 1],
    ['-inf', -Infinity],
    ['Infinity', Infinity],
    ['+INF', Infinity],
    ['1e400', Infinity],
    // Digit separators and any script's decimal digits, as Python (and so MLflow's server) reads them.
    ['5_1', 51],
    ['1_000.2_5e1_0', 1000.25e10],
    ['\uff15.\uff11', 5.1],
    ['\u0663\u0662', 32],
    ['\u{1d7d8}\u{1d7e3}', 1],
    ['\u00a05\u2003', 5],
  ])('float(%j) is %d', (text, value) => {
    expect(floatFromText(text)).toBe(value);
  });

  it('float() reads nan in any case, and refuses what Python refuses', () => {
    expect(floatFromText('NaN')).toBeNaN();
    expect(floatFromText('-nan')).toBeNaN();
    for (const text of ['', ' ', '0x10', '0b1', '1e', 'e5', 'infinit', 'tall', '1,5', '1__0', '_1', '1_', '1_.5', '1._5'])
      expect(floatFromText(text)).toBeUndefined();
  });

  it('int() reads whole numbers only', () => {
    expect(integerFromText(' -7 ')).toBe(-7);
    expect(integerFromText('1_000')).toBe(1000);
    expect(integerFromText('\u0661\u0660')).toBe(10);
    for (const text of ['1.0', '1e3', '', 'nan', '0x1', '1__0']) expect(integerFromText(text)).toBeUndefined();
  });
});
