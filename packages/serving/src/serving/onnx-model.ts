import * as ort from 'onnxruntime-node';
import { MlDeployError, columnsToTable, isRecord, maxOf, recordsToTable, type Table } from '@mldeploy/core';
import { enforceColumns } from '../models/enforce-columns.js';
import { insideModelDir, type MlModel } from '../models/mlmodel.js';
import {
  flatJson,
  fromNested,
  pythonShape,
  shapeMatches,
  toElementData,
  toNested,
  type ElementType,
  type NdArray,
} from '../models/ndarray.js';
import { schemaError, type Schema, type TensorSpec } from '../models/signature.js';
import { parseJsonRequest, type ScoringInput } from './scoring-input.js';
import { parseCsv } from './csv.js';
import type { ServedModel, TensorMetadata } from './served-model.js';

interface OnnxIo {
  readonly name: string;
  readonly type: ElementType;
  /** Fixed sizes as numbers, symbolic dimensions as strings. */
  readonly dims: readonly (number | string)[];
}

const ORT_TYPES: Record<string, ElementType> = {
  float32: 'float32',
  float64: 'float64',
  int8: 'int8',
  int16: 'int16',
  int32: 'int32',
  int64: 'int64',
  uint8: 'uint8',
  uint16: 'uint16',
  uint32: 'uint32',
  uint64: 'uint64',
  bool: 'bool',
  string: 'string',
};

const OIP_TYPES: Record<ElementType, string> = {
  float32: 'FP32',
  float64: 'FP64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};

/** What becomes of predictions: MLflow answers DataFrame-shaped inputs with records, others with a dict of outputs. */
type Prepared = { readonly feeds: Map<string, NdArray>; readonly records: number | undefined };

function sessionOptions(settings: unknown): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'] };
  if (typeof settings !== 'object' || settings === null) return options;
  const s = settings as Record<string, unknown>;
  const mode = typeof s['execution_mode'] === 'string' ? s['execution_mode'].toLowerCase() : undefined;
  if (mode === 'sequential' || mode === 'parallel') options.executionMode = mode;
  const levels: Record<number, 'disabled' | 'basic' | 'extended' | 'all'> = { 0: 'disabled', 1: 'basic', 2: 'extended', 99: 'all' };
  const level = levels[Number(s['graph_optimization_level'])];
  if (level !== undefined) options.graphOptimizationLevel = level;
  if (typeof s['intra_op_num_threads'] === 'number') options.intraOpNumThreads = s['intra_op_num_threads'];
  if (typeof s['inter_op_num_threads'] === 'number') options.interOpNumThreads = s['inter_op_num_threads'];
  const extra = s['extra_session_config'];
  if (typeof extra === 'object' && extra !== null)
    options.extra = { session: Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, String(v)])) };
  return options;
}

function describeIo(metadata: readonly ort.InferenceSession.ValueMetadata[], what: string): OnnxIo[] {
  return metadata.map((m) => {
    if (!m.isTensor)
      throw new MlDeployError(
        'INVALID_PARAMETER_VALUE',
        `ONNX ${what} ${m.name} is not a tensor; mldeploy serves tensor inputs and outputs only`,
      );
    const type = ORT_TYPES[m.type];
    if (type === undefined)
      throw new MlDeployError(
        'INVALID_PARAMETER_VALUE',
        `ONNX ${what} ${m.name} has element type ${m.type}, which mldeploy does not serve`,
      );
    return { name: m.name, type, dims: m.shape.map((d) => d) };
  });
}

function toOrtTensor(array: NdArray): ort.Tensor {
  return new ort.Tensor(array.type, array.data, [...array.dims]);
}

function fromOrtTensor(tensor: ort.Tensor): NdArray {
  const type = ORT_TYPES[tensor.type];
  if (type === undefined)
    throw new MlDeployError('INTERNAL_ERROR', `The model returned a ${tensor.type} tensor, which mldeploy cannot encode`);
  // onnxruntime hands booleans back as bytes.
  const data = type === 'bool' ? Array.from(tensor.data as Uint8Array, (b) => b !== 0) : tensor.data;
  return { type, dims: [...tensor.dims], data };
}

function missingInputs(schema: Schema, names: readonly string[]): MlDeployError {
  return schemaError(schema, `Model is missing inputs [${names.map((n) => `'${n}'`).join(', ')}].`);
}

/** What to do about an array of the wrong shape: the CLI prints it after the message. */
function shapeHint(expected: readonly number[]): string {
  return `Send an array of shape ${pythonShape(expected)}, where -1 stands for any size (usually the number of rows): for rows of features, one list per row.`;
}

/**
 * An MLflow `onnx` model served in-process by onnxruntime-node, with MLflow's input mapping: a
 * model with one input is fed the whole table (or array); a model with several inputs is fed by
 * name. Inputs are converted to each ONNX input's element type, checking that every value fits
 * (MLflow casts only float64 → float32 and truncates floats fed to integer inputs).
 */
export class OnnxModel implements ServedModel {
  readonly flavor = 'onnx';
  readonly platform = 'onnxruntime_onnx';
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
  private readonly onnxInputs: readonly OnnxIo[];
  private readonly onnxOutputs: readonly OnnxIo[];

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly model: MlModel,
  ) {
    this.onnxInputs = describeIo(session.inputMetadata, 'input');
    this.onnxOutputs = describeIo(session.outputMetadata, 'output');
    const toMeta = (io: OnnxIo): TensorMetadata => ({
      name: io.name,
      datatype: OIP_TYPES[io.type],
      shape: io.dims.map((d) => (typeof d === 'number' ? d : -1)),
    });
    this.inputs = this.onnxInputs.map(toMeta);
    this.outputs = this.onnxOutputs.map(toMeta);
  }

  /**
   * Opens the model's ONNX file with the session options its MLmodel declares. Execution
   * providers other than the CPU are not available in this build and are ignored.
   */
  static async load(model: MlModel): Promise<OnnxModel> {
    const flavor = model.flavors['onnx']!;
    const file = insideModelDir(model.dir, typeof flavor['data'] === 'string' ? flavor['data'] : 'model.onnx', 'the onnx flavor’s data');
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, sessionOptions(flavor['onnx_session_options']));
    } catch (error) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', `onnxruntime could not load ${file}: ${(error as Error).message}`, {
        cause: error,
        hint: 'Check that the file is a complete ONNX model (with its external data files beside it) and that its opset is supported by onnxruntime 1.30.',
      });
    }
    return new OnnxModel(session, model);
  }

  async invocations(format: 'json' | 'csv', body: Buffer): Promise<unknown> {
    const input: ScoringInput =
      format === 'csv'
        ? { kind: 'table', table: parseCsv(body.toString('utf8')), params: undefined }
        : parseJsonRequest(body.toString('utf8'));
    const { feeds, records } = this.prepare(input);
    const outputs = await this.run(feeds, undefined);
    return { predictions: records === undefined ? this.asDict(outputs) : this.asRecords(outputs, records) };
  }

  async infer(inputs: ReadonlyMap<string, NdArray>, outputNames: readonly string[] | undefined): Promise<Map<string, NdArray>> {
    const feeds = new Map<string, NdArray>();
    const unknown = [...inputs.keys()].filter((name) => !this.onnxInputs.some((io) => io.name === name));
    if (unknown.length > 0) {
      throw new MlDeployError(
        'BAD_REQUEST',
        `Unknown input tensor(s) ${unknown.join(', ')}; the model's inputs are ${this.onnxInputs.map((io) => io.name).join(', ')}`,
      );
    }
    for (const io of this.onnxInputs) {
      const array = inputs.get(io.name);
      if (array === undefined)
        throw new MlDeployError(
          'BAD_REQUEST',
          `Missing input tensor ${io.name}; the model's inputs are ${this.onnxInputs.map((i) => i.name).join(', ')}`,
        );
      feeds.set(
        io.name,
        array.type === io.type
          ? array
          : { type: io.type, dims: array.dims, data: toElementData(flatJson(array.data), io.type, array.dims, `input ${io.name}`) },
      );
    }
    const unknownOutputs = (outputNames ?? []).filter((name) => !this.onnxOutputs.some((io) => io.name === name));
    if (unknownOutputs.length > 0)
      throw new MlDeployError(
        'BAD_REQUEST',
        `Unknown output(s) ${unknownOutputs.join(', ')}; the model's outputs are ${this.onnxOutputs.map((io) => io.name).join(', ')}`,
      );
    return this.run(feeds, outputNames);
  }

  async warmUp(): Promise<void> {
    const example = this.model.servingInputExample;
    if (example !== undefined) {
      await this.invocations('json', Buffer.from(JSON.stringify(example)));
      return;
    }
    // No example: one row of zeros (or empty strings) shaped like each input.
    const feeds = new Map<string, NdArray>();
    for (const io of this.onnxInputs) {
      const dims = io.dims.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
      const size = dims.reduce((a, b) => a * b, 1);
      feeds.set(io.name, {
        type: io.type,
        dims,
        data: toElementData(
          Array.from({ length: size }, () => (io.type === 'string' ? '' : io.type === 'bool' ? false : 0)),
          io.type,
        ),
      });
    }
    await this.run(feeds, undefined);
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  private async run(feeds: ReadonlyMap<string, NdArray>, outputNames: readonly string[] | undefined): Promise<Map<string, NdArray>> {
    for (const [name, array] of feeds) {
      const io = this.onnxInputs.find((i) => i.name === name)!;
      if (!shapeMatches(array.dims, io.dims)) {
        const expected = io.dims.map((d) => (typeof d === 'number' ? d : -1));
        throw new MlDeployError(
          'INVALID_PARAMETER_VALUE',
          `Shape of input ${name} ${pythonShape(array.dims)} does not match the model's input shape ${pythonShape(expected)}.`,
          { hint: shapeHint(expected) },
        );
      }
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      const feedObject = Object.fromEntries([...feeds].map(([name, array]) => [name, toOrtTensor(array)]));
      results = outputNames === undefined ? await this.session.run(feedObject) : await this.session.run(feedObject, [...outputNames]);
    } catch (error) {
      throw new MlDeployError(
        'BAD_REQUEST',
        `Encountered an unexpected error while evaluating the model. Verify that the serialized input Dataframe is compatible with the model for inference. Error: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const names = outputNames ?? this.onnxOutputs.map((io) => io.name);
    return new Map(names.map((name) => [name, fromOrtTensor(results[name]!)]));
  }

  private asDict(outputs: ReadonlyMap<string, NdArray>): Record<string, unknown> {
    return Object.fromEntries([...outputs].map(([name, array]) => [name, toNested(array.dims, array.data)]));
  }

  /**
   * Outputs as records, one per input row. MLflow flattens every output (`reshape(-1)`), which
   * fails for an output with several values per row (a classifier's probabilities); mldeploy
   * keeps such values as a list in the row instead.
   */
  private asRecords(outputs: ReadonlyMap<string, NdArray>, rows: number): Record<string, unknown>[] {
    const columns = [...outputs].map(([name, array]) => {
      const size = array.dims.reduce((a, b) => a * b, 1);
      if (size === rows) return { name, values: flatJson(array.data) };
      if (array.dims[0] === rows) return { name, values: toNested(array.dims, array.data) as unknown[] };
      throw new MlDeployError(
        'INTERNAL_ERROR',
        `The model's output ${name} has shape ${pythonShape(array.dims)}, which does not give one value per input row (${rows} rows)`,
      );
    });
    return Array.from({ length: rows }, (_, r) => Object.fromEntries(columns.map((c) => [c.name, c.values[r]])));
  }

  /** Maps a scoring request to ONNX feeds following the model's signature (MLflow §7.3, §7.4). */
  private prepare(input: ScoringInput): Prepared {
    if (input.kind === 'llm') {
      throw new MlDeployError(
        'BAD_REQUEST',
        'Invalid input. This ONNX model does not take LLM-format requests (messages, prompt, input).',
        {
          hint: 'Send one of dataframe_split, dataframe_records, instances or inputs.',
        },
      );
    }
    const schema = this.model.signature?.inputs;
    if (schema?.kind === 'columns') {
      const table = enforceColumns(input.kind === 'table' ? input.table : tensorValueAsTable(input.value), schema);
      return { feeds: this.feedsFromTable(table), records: table.rows.length };
    }
    if (schema?.kind === 'tensors') return { feeds: this.feedsFromTensorSchema(input, schema), records: undefined };
    if (input.kind === 'table') return { feeds: this.feedsFromTable(input.table), records: input.table.rows.length };
    return { feeds: this.feedsFromValue(input.value), records: undefined };
  }

  /** One ONNX input takes the whole table as a matrix; several take one column each, by name. */
  private feedsFromTable(table: Table): Map<string, NdArray> {
    if (this.onnxInputs.length === 1) {
      const io = this.onnxInputs[0]!;
      const column = io.dims.length === 1 && table.columns.length === 1;
      const values = column ? table.rows.map((r) => r[0]) : table.rows.flat();
      const dims = column ? [table.rows.length] : [table.rows.length, table.columns.length];
      return new Map([[io.name, { type: io.type, dims, data: toElementData(values, io.type, dims, 'the input') }]]);
    }
    const missing = this.onnxInputs.filter((io) => !table.columns.includes(io.name)).map((io) => io.name);
    if (missing.length > 0) {
      throw new MlDeployError(
        'INVALID_PARAMETER_VALUE',
        `The model has several inputs, fed by column name, and the data lacks columns [${missing.map((n) => `'${n}'`).join(', ')}]`,
      );
    }
    return new Map(
      this.onnxInputs.map((io) => [
        io.name,
        fromNested(
          table.rows.map((row) => row[table.columns.indexOf(io.name)]),
          io.type,
          `column ${io.name}`,
        ),
      ]),
    );
  }

  private feedsFromTensorSchema(
    input: Exclude<ScoringInput, { kind: 'llm' }>,
    schema: Extract<Schema, { kind: 'tensors' }>,
  ): Map<string, NdArray> {
    const check = (array: NdArray, expected: readonly number[], name: string | undefined): NdArray => {
      if (!shapeMatches(array.dims, expected)) {
        throw schemaError(
          schema,
          `Shape of input${name === undefined ? '' : ` ${name}`} ${pythonShape(array.dims)} does not match expected shape ${pythonShape(expected)}.`,
          shapeHint(expected),
        );
      }
      return array;
    };
    if (schema.tensors.length === 1 && schema.tensors[0]!.name === undefined) {
      const spec = schema.tensors[0]!;
      const io = this.onnxInputs[0]!;
      return new Map([[io.name, check(fromNested(unnamedTensorValue(input, spec, schema), io.type, 'the input'), spec.shape, undefined)]]);
    }
    const byName = namedValues(input);
    const missing = schema.tensors.filter((t) => t.name !== undefined && byName?.[t.name] === undefined).map((t) => t.name!);
    if (byName === undefined || missing.length > 0)
      throw missingInputs(schema, missing.length > 0 ? missing : schema.tensors.map((t) => t.name ?? ''));
    const feeds = new Map<string, NdArray>();
    for (const spec of schema.tensors) {
      const io = this.onnxInputs.find((i) => i.name === spec.name);
      if (io === undefined) continue;
      feeds.set(io.name, check(fromNested(byName[io.name], io.type, `input ${io.name}`), spec.shape, io.name));
    }
    return feeds;
  }

  private feedsFromValue(value: unknown): Map<string, NdArray> {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const record = value as Record<string, unknown>;
      return new Map(
        this.onnxInputs.map((io) => {
          if (record[io.name] === undefined)
            throw new MlDeployError(
              'INVALID_PARAMETER_VALUE',
              `Missing input ${io.name}; the model's inputs are ${this.onnxInputs.map((i) => i.name).join(', ')}`,
            );
          return [io.name, fromNested(record[io.name], io.type, `input ${io.name}`)];
        }),
      );
    }
    if (this.onnxInputs.length !== 1) {
      throw new MlDeployError(
        'INVALID_PARAMETER_VALUE',
        `Unable to map numpy array input to the expected model input. Numpy arrays can only be used as input for MLflow ONNX models that have a single input. This model requires ${this.onnxInputs.length} inputs. Please pass in data as either a dictionary or a DataFrame with the following tensors: [${this.onnxInputs.map((io) => `'${io.name}'`).join(', ')}].`,
      );
    }
    const io = this.onnxInputs[0]!;
    return new Map([[io.name, fromNested(value, io.type, 'the input')]]);
  }
}

/** Named input values from `inputs`/`instances` or a table: a dict, a list of records (transposed), or columns. */
function namedValues(input: Exclude<ScoringInput, { kind: 'llm' }>): Record<string, unknown> | undefined {
  if (input.kind === 'table') return Object.fromEntries(input.table.columns.map((c, i) => [c, input.table.rows.map((r) => r[i])]));
  const value = input.value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))) {
    const keys = [...new Set(value.flatMap((v: Record<string, unknown>) => Object.keys(v)))];
    return Object.fromEntries(keys.map((k) => [k, value.map((v: Record<string, unknown>) => v[k])]));
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  return undefined;
}

/**
 * The array for a model whose signature is one unnamed tensor, refused in MLflow's words (and with
 * its codes) where it is not one: a dict of columns, records, a table that is empty or has a list
 * in a cell.
 */
function unnamedTensorValue(input: Exclude<ScoringInput, { kind: 'llm' }>, spec: TensorSpec, schema: Schema): unknown {
  if (input.kind === 'table') {
    const { table } = input;
    if (table.rows.length === 0 && table.columns.length === 0) throw schemaError(schema, 'Input DataFrame is empty.');
    if (table.rows.some((row) => row.some((cell) => typeof cell === 'object' && cell !== null))) {
      throw schemaError(schema, `dtype of input object does not match expected dtype ${spec.dtype}`, 'Send one number per cell.');
    }
    return spec.shape.length === 1 && table.columns.length === 1 ? table.rows.map((r) => r[0]) : table.rows;
  }
  const { value } = input;
  if (isRecord(value)) {
    throw new MlDeployError(
      'BAD_REQUEST',
      "Invalid input. Failed to parse input data. This model contains an un-named model signature which expects a single n-dimensional array or a single value as input, however, an input of type <class 'dict'> was found.",
      { hint: 'Send the array itself, e.g. {"inputs": [[…], …]}, one list per row.' },
    );
  }
  if (Array.isArray(value) && value.length > 0 && value.every(isRecord)) {
    throw schemaError(
      schema,
      "This model contains a tensor-based model signature with no input names, which suggests a numpy array input or a pandas dataframe input with proper column values, but an input of type <class 'dict'> was found.",
      'Send the array itself, e.g. {"inputs": [[…], …]}, one list per row.',
    );
  }
  return value;
}

/** `inputs`/`instances` for a column-schema model, as the table MLflow would build. */
function tensorValueAsTable(value: unknown): Table {
  if (isRecord(value)) return columnsToTable(value);
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every(isRecord)) return recordsToTable(value);
    const rows = value.map((v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : [v]));
    const width = maxOf(rows, (r) => r.length);
    return { columns: Array.from({ length: width }, (_, i) => String(i)), rows };
  }
  return { columns: ['0'], rows: [[value]] };
}
