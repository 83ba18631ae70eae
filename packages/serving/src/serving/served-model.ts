import type { NdArray } from '../models/ndarray.js';

/** A tensor's description in the Open Inference Protocol's model metadata. */
export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

/**
 * A model loaded for serving, whatever runs it: ONNX in-process, or MLflow's own scoring server
 * as a worker process. The scoring server speaks both protocols on top of this.
 */
export interface ServedModel {
  /** The flavor that serves it. */
  readonly flavor: 'onnx' | 'python_function';
  /** The Open Inference Protocol platform string. */
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
  /**
   * Answers an MLflow scoring request (`POST /invocations`) whose Content-Type was checked:
   * resolves to the response document, or rejects with the `MlDeployError` to send.
   */
  invocations(format: 'json' | 'csv', body: Buffer): Promise<unknown>;
  /** Runs named input tensors (Open Inference Protocol); resolves to named outputs. */
  infer(inputs: ReadonlyMap<string, NdArray>, outputNames: readonly string[] | undefined): Promise<Map<string, NdArray>>;
  /** One inference on a representative input; the server is ready only after it succeeds. */
  warmUp(): Promise<void>;
  /** Releases what the model holds (sessions, worker processes). Call when no request is in flight. */
  close(): Promise<void>;
}
