import { MlDeployError, type Table } from '@mldeploy/core';
import { floatFromText, integerFromText } from '../models/number-text.js';

const CSV_ERROR_PREFIX =
  'Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: ';

function csvError(reason: string): MlDeployError {
  return new MlDeployError('BAD_REQUEST', `${CSV_ERROR_PREFIX}'${reason}'`, {
    hint: 'The first line names the columns; fields with commas or quotes are double-quoted.',
  });
}

/** Splits CSV text into records of raw fields (RFC 4180: quoted fields, doubled quotes, CRLF). */
function splitRecords(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let quoteStartRow = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 1;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
      quoteStartRow = records.length;
    } else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (quoted) throw csvError(`EOF inside string starting at row ${quoteStartRow}`);
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  // pandas skips blank lines.
  return records.filter((r) => !(r.length === 1 && r[0] === ''));
}

/** The fields `pandas.read_csv` reads as missing by default (its `na_values`), besides the empty one. */
const NA_FIELDS = new Set([
  '#N/A',
  '#N/A N/A',
  '#NA',
  '-1.#IND',
  '-1.#QNAN',
  '-NaN',
  '-nan',
  '1.#IND',
  '1.#QNAN',
  '<NA>',
  'N/A',
  'NA',
  'NULL',
  'NaN',
  'None',
  'n/a',
  'nan',
  'null',
]);

/**
 * Infers a column's values as pandas does: all integers, else all numbers, else booleans, else
 * strings. Empty fields and pandas' NA markers (`NA`, `nan`, `None`, …) are missing (null); in a
 * number column `inf` and overflowing numbers are ±Infinity, as pandas reads them.
 */
function inferColumn(raw: readonly string[]): unknown[] {
  const fields = raw.map((v) => (v === '' || NA_FIELDS.has(v) ? null : v));
  const present = fields.filter((v): v is string => v !== null);
  if (present.length === fields.length && present.every((v) => integerFromText(v) !== undefined)) return present.map(Number);
  const numbers = present.map(floatFromText);
  if (numbers.every((n) => n !== undefined)) return fields.map((v) => (v === null ? null : floatFromText(v)!));
  if (present.every((v) => v === 'True' || v === 'False' || v === 'true' || v === 'false'))
    return fields.map((v) => (v === null ? null : v.toLowerCase() === 'true'));
  return fields;
}

/**
 * Reads CSV as `pandas.read_csv` would for the scoring server: the first record names the
 * columns, values are typed per column, empty fields are missing (null).
 *
 * @throws MlDeployError `BAD_REQUEST` with MLflow's message for unusable input.
 */
export function parseCsv(text: string): Table {
  const records = splitRecords(text);
  if (records.length === 0) throw csvError('No columns to parse from file');
  const columns = records[0]!.map((name, i) => (name === '' ? `Unnamed: ${i}` : name));
  const rows = records.slice(1);
  for (const [i, row] of rows.entries()) {
    if (row.length > columns.length)
      throw csvError(`Error tokenizing data. C error: Expected ${columns.length} fields in line ${i + 2}, saw ${row.length}`);
  }
  const typed = columns.map((_, c) => inferColumn(rows.map((row) => row[c] ?? '')));
  return { columns, rows: rows.map((_, r) => typed.map((column) => column[r])) };
}
