import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CsvInput, maxOf, MlDeployError, SCORING_FORMAT_KEYS, type PredictionInput } from '@mldeploy/core';
import { UsageError } from './usage-error.js';

/** The `--content-type` values. */
export type InputContentType = 'json' | 'csv';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns a JSON document into prediction inputs. A body already in MLflow's scoring protocol
 * (`dataframe_split`, `dataframe_records`, `instances`, `inputs`, or an LLM body) is sent as it
 * is; other JSON is read as a table, as MLflow's CLI does with `pandas.read_json`: a list of
 * records is rows, a dict of lists is columns, a dict of scalars one row, a list of lists rows.
 */
function jsonToPredictionInput(value: unknown, source: string): PredictionInput {
  if (isRecord(value)) {
    const keys = Object.keys(value);
    if (keys.some((k) => (SCORING_FORMAT_KEYS as readonly string[]).includes(k) || ['messages', 'prompt', 'input'].includes(k)))
      return value;
    const columns: unknown[] = Object.values(value);
    if (!columns.some(Array.isArray)) return { dataframe_records: [value] };
    const lengths = new Set(columns.map((c) => (Array.isArray(c) ? c.length : 1)));
    if (lengths.size > 1) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', `${source}: the columns have different lengths (${[...lengths].join(', ')})`, {
        hint: 'Give every column the same number of values, or use {"dataframe_records": [...]}.',
      });
    }
    const rows = maxOf([...lengths], (n) => n);
    return {
      dataframe_split: {
        columns: keys,
        data: Array.from({ length: rows }, (_, r) => columns.map((c): unknown => (Array.isArray(c) ? (c as unknown[])[r] : c))),
      },
    };
  }
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every(isRecord)) return { dataframe_records: value };
    return { dataframe_split: { data: value } };
  }
  throw new MlDeployError(
    'INVALID_PARAMETER_VALUE',
    `${source}: expected a JSON object or array, got ${value === null ? 'null' : typeof value}`,
    {
      hint: 'See docs/cli.md for the input shapes predict accepts.',
    },
  );
}

/** An input document as read from a file or stdin, and the format it is in. */
export interface InputDocument {
  readonly text: string;
  readonly type: InputContentType;
  /** How messages name it: `Input file PATH` or `standard input`. */
  readonly source: string;
}

/**
 * Reads an input file (or stdin, for `-` or no path) and decides its format: `contentType` when
 * given, else CSV for a `.csv` file, else JSON. The one reader of `predict`, `explain` and
 * `models predict`, so that they agree on what a file means.
 *
 * @param flag how the usage error names the flag, e.g. `'-I' / '--input-path'`.
 * @throws UsageError when the file does not exist or cannot be read; MlDeployError
 * `INVALID_PARAMETER_VALUE` when it is empty.
 */
export async function readInputDocument(
  inputPath: string | undefined,
  contentType: InputContentType | undefined,
  io: { cwd: string; stdin: NodeJS.ReadableStream },
  flag: string,
): Promise<InputDocument> {
  const fromStdin = inputPath === undefined || inputPath === '-';
  const source = fromStdin ? 'standard input' : `Input file ${inputPath}`;
  let text: string;
  if (fromStdin) {
    text = await readAll(io.stdin);
  } else {
    try {
      text = await readFile(path.resolve(io.cwd, inputPath), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(
        code === 'ENOENT'
          ? `Invalid value for ${flag}: Path '${inputPath}' does not exist.`
          : `Invalid value for ${flag}: cannot read '${inputPath}' (${code ?? String(error)}).`,
      );
    }
  }
  if (text.trim() === '') {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `${source} is empty`, {
      hint: 'Give a JSON or CSV document with the rows to predict.',
    });
  }
  const type = contentType ?? (inputPath?.toLowerCase().endsWith('.csv') === true ? 'csv' : 'json');
  return { text, type, source };
}

/**
 * Reads `-I/--input-path` (a file, or `-` for stdin) as prediction inputs: CSV as it is, JSON in
 * MLflow's scoring protocol as it is, other JSON as a table.
 *
 * @throws UsageError when the file does not exist; MlDeployError `INVALID_PARAMETER_VALUE` when
 * its contents are not usable.
 */
export async function readPredictionInput(
  inputPath: string,
  contentType: InputContentType | undefined,
  io: { cwd: string; stdin: NodeJS.ReadableStream },
): Promise<PredictionInput> {
  const { text, type, source } = await readInputDocument(inputPath, contentType, io, "'-I' / '--input-path'");
  if (type === 'csv') return new CsvInput(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `${source} is not valid JSON: ${(error as Error).message}`, {
      hint: 'For CSV input, use a .csv file or pass --content-type csv.',
    });
  }
  return jsonToPredictionInput(parsed, source);
}
