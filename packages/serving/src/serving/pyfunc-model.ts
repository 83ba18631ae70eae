import path from 'node:path';
import { MlDeployError, errorFromBody, pollUntil, spawnProcessGroup, type ProcessGroup } from '@mldeploy/core';
import { probeLoopbackPort } from '../http/ports.js';
import type { MlModel } from '../models/mlmodel.js';
import { fromNested, toNested, type ElementType, type NdArray } from '../models/ndarray.js';
import { parsePythonJson, stringifyPythonJson } from './python-json.js';
import { parseJsonRequest } from './scoring-input.js';
import type { ServedModel, TensorMetadata } from './served-model.js';

/** Settings of the MLflow worker. */
export interface PyfuncWorkerOptions {
  /** The `mlflow` executable: a path (its folder is put first on PATH, for uvicorn) or a command name. */
  readonly mlflowCommand: string;
  /** The environment the worker runs in. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How long the worker may take to load the model and answer /ping. */
  readonly startupTimeoutMs: number;
  /** Seconds MLflow's own server allows a request (its --timeout). */
  readonly requestTimeoutSeconds: number;
}

function inferType(values: readonly unknown[]): ElementType {
  if (values.every((v) => typeof v === 'boolean')) return 'bool';
  if (values.every((v) => typeof v === 'number' && Number.isInteger(v))) return 'int64';
  if (values.every((v) => typeof v === 'number' || v === null)) return 'float64';
  return 'string';
}

/**
 * A `python_function` model served by MLflow's own scoring server (`mlflow models serve
 * --env-manager local`) as a worker process on a loopback port. Requests are forwarded as they
 * came, so every flavor MLflow can load is served with MLflow's exact behaviour.
 */
export class PyfuncModel implements ServedModel {
  readonly flavor = 'python_function';
  readonly platform = 'mlflow_pyfunc';
  readonly inputs: readonly TensorMetadata[] = [];
  readonly outputs: readonly TensorMetadata[] = [];
  private output = '';
  private readonly exited = (): boolean => this.group.hasExited();

  private constructor(
    private readonly model: MlModel,
    private readonly group: ProcessGroup,
    private readonly url: string,
  ) {
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-8000);
    };
    group.child.stdout?.on('data', keep);
    group.child.stderr?.on('data', keep);
  }

  /**
   * Starts the worker and waits until it answers /ping.
   *
   * @throws MlDeployError `RESOURCE_DOES_NOT_EXIST` when MLflow is not installed (naming what to
   * install), `INVALID_STATE` when the worker exits or does not become ready in time.
   */
  static async start(model: MlModel, options: PyfuncWorkerOptions): Promise<PyfuncModel> {
    const port = await probeLoopbackPort();
    const env = { ...options.env };
    if (path.isAbsolute(options.mlflowCommand))
      env['PATH'] = [path.dirname(options.mlflowCommand), env['PATH']].filter(Boolean).join(path.delimiter);
    const args = [
      'models',
      'serve',
      '-m',
      model.dir,
      '-p',
      String(port),
      '-h',
      '127.0.0.1',
      '--env-manager',
      'local',
      '-t',
      String(options.requestTimeoutSeconds),
    ];
    const group = spawnProcessGroup(options.mlflowCommand, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    // MLflow leads a process group of its own, so it would outlive a process that exits before
    // closing this model (told to stop while the model still loads, or on a fatal error).
    const reap = (): void => group.signal('SIGKILL');
    process.once('exit', reap);
    void group.exited.then(() => process.off('exit', reap));
    const spawned = await group.started.then(
      () => undefined,
      (error: unknown) => error,
    );
    if (spawned !== undefined) {
      throw new MlDeployError(
        'RESOURCE_DOES_NOT_EXIST',
        `MLflow is needed to serve this ${Object.keys(model.flavors).join('/')} model, and its CLI was not found (tried ${JSON.stringify(options.mlflowCommand)})`,
        {
          cause: spawned,
          hint: 'Install it with `pip install mlflow` (plus the model’s own requirements), or point MLDEPLOY_MLFLOW at its mlflow executable.',
        },
      );
    }
    const worker = new PyfuncModel(model, group, `http://127.0.0.1:${port}`);
    try {
      return await pollUntil(
        async () => {
          if (worker.exited()) {
            throw new MlDeployError(
              'INVALID_STATE',
              `MLflow's scoring server exited while loading ${model.dir}: ${worker.output.trim().split('\n').slice(-3).join(' | ')}`,
              {
                hint: 'Its output above says why; often a requirement of the model is not installed.',
              },
            );
          }
          return (await fetch(`${worker.url}/ping`).then(
            (r) => r.ok,
            () => false,
          ))
            ? worker
            : undefined;
        },
        {
          timeoutMs: options.startupTimeoutMs,
          minDelayMs: 50,
          maxDelayMs: 500,
          onTimeout: () =>
            new MlDeployError('INVALID_STATE', `MLflow's scoring server did not become ready within ${options.startupTimeoutMs / 1000} s`, {
              hint: 'Large models load slowly: raise the startup timeout.',
            }),
        },
      );
    } catch (error) {
      await worker.close();
      throw error;
    }
  }

  /**
   * Checks a JSON request as the ONNX path does before MLflow sees it, so that both paths refuse
   * the same requests in the same words (unknown top-level fields, say, which MLflow drops), then
   * forwards it as it came.
   */
  async invocations(format: 'json' | 'csv', body: Buffer): Promise<unknown> {
    if (format === 'json') parseJsonRequest(body.toString('utf8'));
    return this.forward(format === 'csv' ? 'text/csv' : 'application/json', body);
  }

  async infer(inputs: ReadonlyMap<string, NdArray>, outputNames: readonly string[] | undefined): Promise<Map<string, NdArray>> {
    const request = { inputs: Object.fromEntries([...inputs].map(([name, array]) => [name, toNested(array.dims, array.data)])) };
    // Infinite values reach MLflow as such (plain JSON would turn them into null, i.e. NaN).
    const response = (await this.forward('application/json', Buffer.from(stringifyPythonJson(request)))) as { predictions?: unknown };
    const predictions = response.predictions;
    const named: [string, unknown][] =
      typeof predictions === 'object' && predictions !== null && !Array.isArray(predictions)
        ? Object.entries(predictions)
        : [['predictions', predictions]];
    const outputs = new Map<string, NdArray>();
    for (const [name, value] of named) {
      if (outputNames !== undefined && !outputNames.includes(name)) continue;
      const flat: unknown[] = [value].flat(Infinity);
      outputs.set(name, fromNested(value, inferType(flat), `output ${name}`));
    }
    return outputs;
  }

  async warmUp(): Promise<void> {
    const example = this.model.servingInputExample;
    if (example !== undefined) await this.forward('application/json', Buffer.from(JSON.stringify(example)));
  }

  /** Stops MLflow's server and its uvicorn workers. */
  close(): Promise<void> {
    return this.group.stop();
  }

  private async forward(contentType: string, body: Buffer): Promise<unknown> {
    if (this.exited())
      throw new MlDeployError('TEMPORARILY_UNAVAILABLE', "MLflow's scoring server for this model has exited", {
        hint: 'Restart the server.',
      });
    let response: Response;
    try {
      response = await fetch(`${this.url}/invocations`, { method: 'POST', headers: { 'content-type': contentType }, body });
    } catch (error) {
      throw new MlDeployError('TEMPORARILY_UNAVAILABLE', `MLflow's scoring server did not answer: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      // MLflow writes NaN and Infinity bare, which plain JSON.parse refuses.
      parsed = parsePythonJson(text);
    } catch {
      parsed = text;
    }
    if (!response.ok) {
      const error = errorFromBody(response.status, parsed);
      throw new MlDeployError(error.code, withoutRequestData(error.message), { hint: error.hint, details: error.details });
    }
    return parsed;
  }
}

/** Where MLflow's messages repeat the request: the data's repr, or the text that did not convert. */
const ECHOES: readonly [RegExp, string][] = [
  // "Failed to predict data '<repr>'. \nError: Failed to enforce schema of data '<repr>' with schema …"
  [/^Failed to predict data '[\s\S]*?'\. \nError: /, ''],
  [/Failed to enforce schema of data '[\s\S]*?' with schema '/, "Failed to enforce schema of data with schema '"],
  // numpy's and pandas' "could not convert string to float: '<text>'", alone or inside a ValueError(…).
  [/(could not convert string to \w+|invalid literal for int\(\) with base 10): '[\s\S]*?'(?=\\?"\)|'?$)/, '$1'],
];

/**
 * MLflow's error message without the request data it repeats (mldeploy's own messages never
 * contain it: request data may be sensitive, and error messages end up in logs).
 */
function withoutRequestData(message: string): string {
  return ECHOES.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), message);
}
