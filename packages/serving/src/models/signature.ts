import { MlDeployError } from '@mldeploy/core';

/** The column types of MLflow's ColSpec (`mlflow.types.DataType`). */
export type ColumnType = 'boolean' | 'integer' | 'long' | 'float' | 'double' | 'string' | 'binary' | 'datetime';

/** Numeric and other element types of tensors, by numpy name. */
type TensorDType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'str'
  | 'object';

/** A named (or unnamed) column. Complex types (array, object, map, any) are kept as `other`. */
export interface ColumnSpec {
  readonly name: string | undefined;
  readonly type: ColumnType | 'other';
  readonly required: boolean;
  /** The JSON spec as written, for messages. */
  readonly raw: unknown;
}

/** A tensor input or output: dtype and shape, `-1` for a variable dimension. */
export interface TensorSpec {
  readonly name: string | undefined;
  readonly dtype: TensorDType;
  readonly shape: readonly number[];
}

/** An input or output schema: all columns or all tensors, never mixed. */
export type Schema =
  | { readonly kind: 'columns'; readonly columns: readonly ColumnSpec[] }
  | { readonly kind: 'tensors'; readonly tensors: readonly TensorSpec[] };

/** A declared inference parameter. */
interface ParamSpec {
  readonly name: string;
  readonly type: string;
  readonly default: unknown;
  readonly shape: readonly number[] | null;
}

/** A model signature: the JSON strings of MLmodel's `signature` block, parsed. */
export interface Signature {
  readonly inputs: Schema | undefined;
  readonly outputs: Schema | undefined;
  readonly params: readonly ParamSpec[] | undefined;
}

const COLUMN_TYPES = new Set<string>(['boolean', 'integer', 'long', 'float', 'double', 'string', 'binary', 'datetime']);

function normaliseDType(dtype: string): TensorDType {
  const aliases: Record<string, TensorDType> = {
    float: 'float64',
    double: 'float64',
    int: 'int64',
    bool_: 'bool',
    str_: 'str',
    unicode: 'str',
    object_: 'object',
  };
  const value = aliases[dtype] ?? dtype;
  if (
    [
      'float32',
      'float64',
      'float16',
      'int8',
      'int16',
      'int32',
      'int64',
      'uint8',
      'uint16',
      'uint32',
      'uint64',
      'bool',
      'str',
      'object',
    ].includes(value)
  )
    return value as TensorDType;
  throw new Error(`unsupported tensor dtype ${JSON.stringify(dtype)}`);
}

function parseSchema(field: string, text: unknown): Schema | undefined {
  if (text === null || text === undefined) return undefined;
  const specs: unknown = typeof text === 'string' ? JSON.parse(text) : text;
  if (!Array.isArray(specs)) throw new Error(`${field} is not a JSON array`);
  if (specs.length === 0) return undefined;
  const isTensor = (spec: unknown): boolean => (spec as Record<string, unknown>)['type'] === 'tensor';
  if (specs.every(isTensor)) {
    const tensors = specs.map((spec: Record<string, unknown>): TensorSpec => {
      const tensorSpec = spec['tensor-spec'] as { dtype?: unknown; shape?: unknown } | undefined;
      if (tensorSpec === undefined || typeof tensorSpec.dtype !== 'string' || !Array.isArray(tensorSpec.shape))
        throw new Error(`${field}: a tensor spec needs "tensor-spec" with dtype and shape`);
      return {
        name: typeof spec['name'] === 'string' ? spec['name'] : undefined,
        dtype: normaliseDType(tensorSpec.dtype),
        shape: tensorSpec.shape.map(Number),
      };
    });
    return { kind: 'tensors', tensors };
  }
  if (specs.some(isTensor)) throw new Error(`${field} mixes tensor and column specs`);
  const columns = specs.map((spec: Record<string, unknown>): ColumnSpec => {
    const type = spec['type'];
    return {
      name: typeof spec['name'] === 'string' ? spec['name'] : undefined,
      type: typeof type === 'string' && COLUMN_TYPES.has(type) ? (type as ColumnType) : 'other',
      required: spec['required'] !== false,
      raw: spec,
    };
  });
  return { kind: 'columns', columns };
}

function parseParams(text: unknown): ParamSpec[] | undefined {
  if (text === null || text === undefined) return undefined;
  const specs: unknown = typeof text === 'string' ? JSON.parse(text) : text;
  if (!Array.isArray(specs)) throw new Error('params is not a JSON array');
  return specs.map((spec: Record<string, unknown>) => ({
    name: String(spec['name']),
    type: typeof spec['type'] === 'string' ? spec['type'] : 'object',
    default: spec['default'],
    shape: Array.isArray(spec['shape']) ? spec['shape'].map(Number) : null,
  }));
}

/**
 * Parses MLmodel's `signature` block, whose `inputs`, `outputs` and `params` are JSON strings
 * embedded in YAML.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` naming the field that is malformed.
 */
export function parseSignature(block: unknown, source: string): Signature | undefined {
  if (block === null || block === undefined) return undefined;
  if (typeof block !== 'object') throw new MlDeployError('INVALID_PARAMETER_VALUE', `${source}: signature is not a mapping`);
  const record = block as Record<string, unknown>;
  let field = 'inputs';
  try {
    const inputs = parseSchema('inputs', record['inputs']);
    field = 'outputs';
    const outputs = parseSchema('outputs', record['outputs']);
    field = 'params';
    const params = parseParams(record['params']);
    return { inputs, outputs, params };
  } catch (error) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `${source}: signature ${field} is malformed: ${(error as Error).message}`, {
      cause: error,
      hint: 'The signature fields hold JSON strings, as mlflow.models.ModelSignature.to_dict() writes them.',
    });
  }
}

/** The schema as MLflow prints it in error messages, e.g. `['a': double (required)]`. */
function describeSchema(schema: Schema): string {
  if (schema.kind === 'tensors') {
    return `[${schema.tensors.map((t) => `${t.name === undefined ? '' : `'${t.name}': `}Tensor('${t.dtype}', (${t.shape.join(', ')}${t.shape.length === 1 ? ',' : ''}))`).join(', ')}]`;
  }
  return `[${schema.columns.map((c) => `${c.name === undefined ? '' : `'${c.name}': `}${c.type}${c.required ? ' (required)' : ' (optional)'}`).join(', ')}]`;
}

/**
 * A request that does not fit the model's signature, in MLflow's words and with its error class
 * (`SCHEMA_ENFORCEMENT_FAILED`, which its scoring server sends with these errors). Unlike MLflow's,
 * the message never repeats the request data: it names the schema, and `reason` the inputs.
 */
export function schemaError(schema: Schema, reason: string, hint?: string): MlDeployError {
  return new MlDeployError(
    'INVALID_PARAMETER_VALUE',
    `Failed to enforce schema of data with schema '${describeSchema(schema)}'. Error: ${reason}`,
    {
      hint,
      details: { error_class: 'SCHEMA_ENFORCEMENT_FAILED' },
    },
  );
}
