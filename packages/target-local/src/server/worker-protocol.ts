/** What the control plane tells a worker process to serve (its one argument, as JSON). */
export interface WorkerSpec {
  readonly modelDir: string;
  readonly flavor: string;
  /** The deployment name: the model's name in the worker's Open Inference Protocol routes. */
  readonly name: string;
  /** The revision served, named in every response's headers. */
  readonly revision: number;
  /** The deployment's own port, shared by its replicas (SO_REUSEPORT); undefined for none. */
  readonly sharedPort: number | undefined;
  readonly version: string | undefined;
  readonly requestTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly mlflowCommand: string;
  readonly serverVersion: string;
}

/** Messages a worker sends its control plane over the IPC channel. */
export type WorkerMessage =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'failed'; readonly error: { readonly error_code: string; readonly message: string; readonly hint?: string } };
