import { z } from 'zod';
import { errorToBody, type MlDeployError } from '@mldeploy/core';

/** What the control plane tells a worker process to serve (its one argument, as JSON). */
export interface WorkerSpec {
  readonly modelDir: string;
  readonly flavor: string;
  /** The deployment name: the model's name in the worker's Open Inference Protocol routes. */
  readonly name: string;
  /** The revision served, named in every response's headers. */
  readonly revision: number;
  /** Which replica of the revision this worker is. */
  readonly replica: number;
  /** The deployment's own port, shared by its replicas (SO_REUSEPORT); undefined for none. */
  readonly sharedPort: number | undefined;
  /** The Unix socket its log records go to once its control plane is gone (see WorkerLogLink). */
  readonly logSocket: string;
  /** The home: the worker records itself in its WorkerRegistry before it reports ready. */
  readonly home: string;
  readonly version: string | undefined;
  readonly requestTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly mlflowCommand: string;
  readonly serverVersion: string;
}

/** Messages a worker (or the gateway process) sends the control plane that started it, over the IPC channel. */
export type WorkerMessage =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'failed'; readonly error: { readonly error_code: string; readonly message: string; readonly hint?: string } };

/** The `failed` message for an error that ends a start: its code, message and hint, for the control plane to raise again. */
export function failedMessage(error: MlDeployError): WorkerMessage {
  const body = errorToBody(error);
  return {
    type: 'failed',
    error: { error_code: body.error_code, message: body.message, ...(error.hint === undefined ? {} : { hint: error.hint }) },
  };
}

/** The first line a worker sends on its log link: which replica it is. */
export const workerHelloSchema = z.object({
  deployment: z.string().min(1),
  revision: z.number().int().min(1),
  replica: z.number().int().min(0),
  pid: z.number().int(),
});

/** What the control plane answers a worker's hello on the log link: it is alive and files the worker's lines. */
export const WORKER_LOG_ACK = 'ok\n';

/** See {@link workerHelloSchema}. */
export type WorkerHello = Readonly<z.infer<typeof workerHelloSchema>>;
