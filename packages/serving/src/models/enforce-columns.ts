import { MlDeployError, type Table } from '@mldeploy/core';
import { floatFromText, integerFromText } from './number-text.js';
import { schemaError, type ColumnSpec, type ColumnType, type Schema } from './signature.js';

const PANDAS_TYPE: Record<ColumnType, string> = {
  boolean: 'bool',
  integer: 'int32',
  long: 'int64',
  float: 'float32',
  double: 'float64',
  string: 'object',
  binary: 'object',
  datetime: 'datetime64[ns]',
};

function incompatible(column: string, from: string, to: ColumnType, hint?: string): MlDeployError {
  return new MlDeployError(
    'INVALID_PARAMETER_VALUE',
    `Incompatible input types for column ${column}. Can not safely convert ${from} to ${PANDAS_TYPE[to]}.`,
    { hint },
  );
}

function notCompatible(column: string, type: ColumnType, reason: string, hint?: string): MlDeployError {
  return new MlDeployError(
    'BAD_REQUEST',
    `Invalid input. Data is not compatible with model signature. Failed to convert column ${column} to type '${PANDAS_TYPE[type]}'. Error: '${reason}'`,
    { hint },
  );
}

/**
 * Converts one value to a column type, with MLflow's rules: what pandas' `astype` does when the
 * scoring server casts a DataFrame to the signature (numeric strings become numbers, integers
 * become doubles, a missing value is NaN in a float column and refused in an integer one), then
 * the safe-conversion rules of schema enforcement (no float → int).
 */
function coerce(value: unknown, column: string, type: ColumnType | 'other', row: number): unknown {
  switch (type) {
    case 'double':
    case 'float': {
      if (typeof value === 'number') return value;
      if (value === null || value === undefined) return Number.NaN;
      if (typeof value === 'boolean') return value ? 1 : 0;
      const parsed = typeof value === 'string' ? floatFromText(value) : undefined;
      if (parsed !== undefined) return parsed;
      // numpy's words, without the value: request data stays out of error messages.
      const reason =
        typeof value === 'string'
          ? 'could not convert string to float'
          : Array.isArray(value)
            ? 'setting an array element with a sequence'
            : "float() argument must be a string or a real number, not 'dict'";
      throw notCompatible(column, type, `${reason} (row ${row})`);
    }
    case 'integer':
    case 'long': {
      if (value === null || value === undefined || (typeof value === 'number' && !Number.isFinite(value))) {
        throw notCompatible(
          column,
          type,
          `row ${row} is ${value === null || value === undefined ? 'missing (null)' : String(value)}; integer columns cannot hold missing or infinite values`,
          'Send a whole number there, or declare the column as double in the signature.',
        );
      }
      const n = typeof value === 'string' ? (integerFromText(value) ?? value) : value;
      if (typeof n === 'number' && Number.isInteger(n)) return n;
      if (typeof n === 'boolean') return n ? 1 : 0;
      throw incompatible(column, typeof n === 'number' ? 'float64' : 'object', type);
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      throw incompatible(column, typeof value === 'number' ? 'int64' : 'object', type);
    case 'string':
      if (typeof value === 'string' || value === null) return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw incompatible(column, 'object', type);
    default:
      return value;
  }
}

function quoted(names: readonly string[]): string {
  return `[${names.map((n) => `'${n}'`).join(', ')}]`;
}

/**
 * Enforces a column (ColSpec) schema on a table, as MLflow's `_enforce_schema` does: required
 * columns must be present, extra columns are dropped, optional missing ones are skipped, values
 * are converted to the declared types; an unnamed schema takes columns by position.
 *
 * @returns the table with the schema's columns, in schema order.
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` (missing inputs, unsafe conversions) or
 * `BAD_REQUEST` (values that cannot be converted at all), naming the column and the types.
 */
export function enforceColumns(table: Table, schema: Extract<Schema, { kind: 'columns' }>): Table {
  const wrap = (error: unknown): unknown =>
    error instanceof MlDeployError && error.code === 'INVALID_PARAMETER_VALUE' ? schemaError(schema, error.message, error.hint) : error;
  const specs = schema.columns;
  let picked: { spec: ColumnSpec; index: number; name: string }[];
  if (specs.every((s) => s.name === undefined)) {
    if (table.columns.length < specs.length) {
      throw wrap(
        new MlDeployError(
          'INVALID_PARAMETER_VALUE',
          `Model inference is missing inputs. The model signature declares ${specs.length} inputs but the provided value only has ${table.columns.length} inputs.`,
        ),
      );
    }
    picked = specs.map((spec, index) => ({ spec, index, name: table.columns[index]! }));
  } else {
    const missing = specs.filter((s) => s.required && !table.columns.includes(s.name!)).map((s) => s.name!);
    if (missing.length > 0) {
      const extra = table.columns.filter((c) => !specs.some((s) => s.name === c));
      throw wrap(
        new MlDeployError(
          'INVALID_PARAMETER_VALUE',
          `Model is missing inputs ${quoted(missing)}.${extra.length > 0 ? ` Note that there were extra inputs: ${quoted(extra)}` : ''}`,
        ),
      );
    }
    picked = specs
      .filter((s) => table.columns.includes(s.name!))
      .map((spec) => ({ spec, index: table.columns.indexOf(spec.name!), name: spec.name! }));
  }
  try {
    return {
      columns: picked.map((p) => p.name),
      rows: table.rows.map((row, r) => picked.map(({ spec, index, name }) => coerce(row[index], name, spec.type, r))),
    };
  } catch (error) {
    throw wrap(error);
  }
}
