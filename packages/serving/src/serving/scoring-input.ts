import { MlDeployError, isRecord, maxOf, recordsToTable, type Table } from '@mldeploy/core';
import { checkJsonDepth } from '../models/ndarray.js';
import { pythonTypeName } from '../models/ndarray.js';
import { parsePythonJson } from './python-json.js';

/**
 * A parsed scoring request. `table` comes from `dataframe_split`, `dataframe_records` or CSV;
 * `tensor` from `inputs` or `instances` (as raw JSON: its meaning depends on the signature);
 * `llm` is the unified LLM format, passed to the model whole.
 */
export type ScoringInput =
  | { readonly kind: 'table'; readonly table: Table; readonly params: Readonly<Record<string, unknown>> | undefined }
  | {
      readonly kind: 'tensor';
      readonly format: 'inputs' | 'instances';
      readonly value: unknown;
      readonly params: Readonly<Record<string, unknown>> | undefined;
    }
  | { readonly kind: 'llm'; readonly body: Readonly<Record<string, unknown>> };

const FORMAT_KEYS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;
const FORMATS_TEXT = `{${FORMAT_KEYS.map((k) => `'${k}'`).join(', ')}}`;
const LLM_KEYS = ['messages', 'prompt', 'input'];

/** MLflow's note on its 2.0 protocol change, kept because users search for it. */
const PROTOCOL_CHANGE_NOTE =
  'IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are seeing this error, you are likely using an outdated scoring request format. ' +
  "To resolve the error, either update your request format or adjust your MLflow Model's requirements file to specify an older version of MLflow (for example, change the 'mlflow' requirement specifier to 'mlflow==1.30.0'). " +
  'If you are making a request using the MLflow client (e.g. via `mlflow.pyfunc.spark_udf()`), upgrade your MLflow client to a version >= 2.0 in order to use the new request format. ' +
  'For more information about the updated MLflow Model scoring protocol in MLflow 2.0, see https://mlflow.org/docs/latest/models.html#deploy-mlflow-models.';

/** The media types `/invocations` accepts. `application/csv` is what MLflow's docs advertise. */
const SUPPORTED_CONTENT_TYPES = ['application/json', 'text/csv', 'application/csv'] as const;

function badRequest(message: string, hint?: string): MlDeployError {
  return new MlDeployError('BAD_REQUEST', message, { hint });
}

/**
 * Checks a Content-Type header and returns the format it names.
 *
 * @throws MlDeployError `UNSUPPORTED_MEDIA_TYPE` (415) with MLflow's messages; a missing header
 * is 415 with a hint too (MLflow answers 500).
 */
export function parseContentType(header: string | undefined): 'json' | 'csv' {
  if (header === undefined || header.trim() === '') {
    throw new MlDeployError('UNSUPPORTED_MEDIA_TYPE', 'Missing Content-Type header.', {
      hint: "Send 'Content-Type: application/json' (or text/csv) with the request.",
    });
  }
  const [mime = '', ...rawParams] = header.split(';').map((part) => part.trim());
  const params = rawParams.filter((p) => p !== '').map((p) => p.split('=').map((s) => s.trim()));
  const unknown = params.filter(([key]) => key?.toLowerCase() !== 'charset').map(([key]) => key);
  if (unknown.length > 0) {
    throw new MlDeployError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Unrecognized content type parameters: ${unknown.join(', ')}. ${PROTOCOL_CHANGE_NOTE}`,
    );
  }
  const charset = params.find(([key]) => key?.toLowerCase() === 'charset')?.[1];
  if (charset !== undefined && charset.toLowerCase().replace(/^"|"$/g, '') !== 'utf-8' && charset.toLowerCase() !== 'utf8') {
    throw new MlDeployError('UNSUPPORTED_MEDIA_TYPE', 'The scoring server only supports UTF-8');
  }
  const type = mime.toLowerCase();
  if (type === 'application/json') return 'json';
  if (type === 'text/csv' || type === 'application/csv') return 'csv';
  throw new MlDeployError(
    'UNSUPPORTED_MEDIA_TYPE',
    `This predictor only supports the following content types: Types: [${SUPPORTED_CONTENT_TYPES.map((t) => `'${t}'`).join(', ')}]. Got '${header}'.`,
  );
}

function parseSplit(value: unknown): Table {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest(`Invalid input. Dataframe split format must be a dictionary. Got ${pythonTypeName(value)}.`);
  }
  const split = value as Record<string, unknown>;
  const keys = Object.keys(split);
  if (!keys.includes('data') || keys.some((k) => !['data', 'columns', 'index'].includes(k))) {
    throw badRequest(
      `Invalid input. Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got {${keys.map((k) => `'${k}'`).join(', ')}}.`,
    );
  }
  const invalid = (reason: string): MlDeployError =>
    badRequest(
      `Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '${reason}'`,
    );
  const data = split['data'];
  if (!Array.isArray(data)) throw invalid('data must be a list of rows');
  const rawColumns = split['columns'];
  if (rawColumns !== undefined && !Array.isArray(rawColumns)) throw invalid('columns must be a list');
  const given = data.map((row: unknown): unknown[] => (Array.isArray(row) ? (row as unknown[]) : [row]));
  const width = maxOf(given, (r) => r.length);
  // As pandas builds the frame: a row shorter than the longest is missing its last values (NaN).
  const rows = given.every((r) => r.length === width)
    ? given
    : given.map((r) => (r.length === width ? r : [...r, ...Array<null>(width - r.length).fill(null)]));
  const columns = rawColumns === undefined ? Array.from({ length: width }, (_, i) => String(i)) : rawColumns.map(String);
  if (rows.length > 0 && columns.length !== width) throw invalid(`${columns.length} columns passed, passed data had ${width} columns`);
  if (new Set(columns).size !== columns.length) throw invalid('column names must be unique');
  return { columns, rows };
}

function parseRecords(value: unknown): Table {
  if (!Array.isArray(value)) {
    throw badRequest(
      `Invalid input. Dataframe records format must be a list of records. Got ${value !== null && typeof value === 'object' ? 'dictionary' : `type <class '${pythonTypeName(value)}'>`}.`,
    );
  }
  for (const record of value as unknown[]) {
    if (!isRecord(record)) {
      throw badRequest(
        `Invalid input. Dataframe records format must be a list of records. Got a list containing ${pythonTypeName(record)}.`,
      );
    }
  }
  return recordsToTable(value as Record<string, unknown>[]);
}

/**
 * Parses a JSON scoring request (MLflow §6.4): exactly one of the four format fields, optional
 * `params`, or an LLM-format body.
 *
 * Like MLflow, reads Python's `NaN`, `Infinity` and `-Infinity` (see {@link parsePythonJson}).
 * Unlike MLflow, which drops unknown top-level keys silently, unknown keys are refused: a typo
 * such as `param` must not go unnoticed.
 *
 * @throws MlDeployError `BAD_REQUEST` with MLflow's messages.
 */
export function parseJsonRequest(text: string): ScoringInput {
  let body: unknown;
  try {
    // As Python reads it: MLflow's own client sends NaN and Infinity for missing and infinite values.
    body = parsePythonJson(text);
  } catch (error) {
    throw badRequest(`Invalid input. Ensure that input is a valid JSON formatted string. Error: '${(error as Error).message}'`);
  }
  checkJsonDepth(body);
  if (Array.isArray(body))
    throw badRequest(
      `Invalid input. The input must be a JSON dictionary with exactly one of the input fields ${FORMATS_TEXT}. Received a list.`,
    );
  if (typeof body !== 'object' || body === null) {
    throw badRequest(
      `Invalid input. The input must be a JSON dictionary with exactly one of the input fields ${FORMATS_TEXT}. Received unexpected input type '<class '${pythonTypeName(body)}'>'.`,
    );
  }
  const record = body as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.some((k) => LLM_KEYS.includes(k))) return { kind: 'llm', body: record };
  const formats = keys.filter((k) => (FORMAT_KEYS as readonly string[]).includes(k));
  if (formats.length !== 1) {
    throw badRequest(
      `The input must be a JSON dictionary with exactly one of the input fields ${FORMATS_TEXT}. Received dictionary with input fields: [${formats.map((k) => `'${k}'`).join(', ')}]. ${PROTOCOL_CHANGE_NOTE}`,
    );
  }
  const unknown = keys.filter((k) => k !== formats[0] && k !== 'params');
  if (unknown.length > 0) {
    throw badRequest(
      `Invalid input. Unknown top-level fields: [${unknown.map((k) => `'${k}'`).join(', ')}]. A request has one of ${FORMATS_TEXT} and optionally 'params'.`,
    );
  }
  const params = record['params'];
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    throw badRequest(`Invalid input. 'params' must be a dictionary. Got ${pythonTypeName(params)}.`);
  }
  const typedParams = params as Record<string, unknown> | undefined;
  const format = formats[0] as (typeof FORMAT_KEYS)[number];
  switch (format) {
    case 'dataframe_split':
      return { kind: 'table', table: parseSplit(record[format]), params: typedParams };
    case 'dataframe_records':
      return { kind: 'table', table: parseRecords(record[format]), params: typedParams };
    case 'inputs':
    case 'instances':
      return { kind: 'tensor', format, value: record[format], params: typedParams };
  }
}
