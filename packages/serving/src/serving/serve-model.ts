import path from 'node:path';
import type { ResolvedConfig } from '@mldeploy/core';
import { mlflowConnectionFromEnv } from '../models/mlflow-connection.js';
import { resolveModel, type DownloadProgress, type ResolvedModel } from '../models/model-resolver.js';
import { loadServedModel } from './load-served-model.js';
import { ScoringServer } from './scoring-server.js';
import type { ServedModel } from './served-model.js';

/** How to find and load a model: the flavor, how long a pyfunc prediction may take, progress. */
export interface LoadModelOptions {
  /** `onnx` or `python_function`; by default onnx when the model has it. */
  readonly flavor?: string | undefined;
  /** Seconds a prediction may take in a pyfunc worker. */
  readonly timeoutSeconds: number;
  /** Called while a registry model downloads. */
  readonly onProgress?: ((progress: DownloadProgress) => void) | undefined;
}

/**
 * Resolves a model URI (downloading it into the cache when it is remote) and loads it for
 * serving, with the registry connection, cache and MLflow command of `config`.
 */
export async function resolveAndLoadModel(
  config: ResolvedConfig,
  uri: string,
  options: LoadModelOptions,
): Promise<{ resolved: ResolvedModel; model: ServedModel }> {
  const resolved = await resolveModel(uri, {
    connection: mlflowConnectionFromEnv(config.env),
    cacheDir: config.cacheDir,
    cwd: config.cwd,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  const model = await loadServedModel(resolved.dir, {
    flavor: options.flavor,
    pyfunc: {
      mlflowCommand: config.mlflowCommand,
      env: config.env,
      startupTimeoutMs: 300_000,
      requestTimeoutSeconds: options.timeoutSeconds,
    },
  });
  return { resolved, model };
}

/** Settings of {@link serveModel}. */
export interface ServeModelOptions extends LoadModelOptions {
  readonly modelUri: string;
  /** The name in the Open Inference Protocol routes; by default the registered name, else the folder's. */
  readonly name?: string | undefined;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly serverVersion: string;
  /** Binds beyond loopback without a token (the scoring server's `allowUnauthenticated`: only behind a platform that authenticates callers itself). */
  readonly allowUnauthenticated?: boolean | undefined;
}

/** A model being served by {@link serveModel}. */
export interface ServingModel {
  readonly url: string;
  readonly name: string;
  readonly resolved: ResolvedModel;
  readonly model: ServedModel;
  /** Finishes the requests in flight, then stops the server and the model. */
  stop(): Promise<void>;
}

/**
 * Serves one model over HTTP (MLflow's scoring protocol and the Open Inference Protocol), as
 * `mlflow models serve` does. The server takes `config.serverToken` when it binds beyond loopback
 * (or, with `allowUnauthenticated`, none).
 */
export async function serveModel(config: ResolvedConfig, options: ServeModelOptions): Promise<ServingModel> {
  const { resolved, model } = await resolveAndLoadModel(config, options.modelUri, options);
  const name = options.name ?? resolved.registered?.name ?? path.basename(resolved.dir);
  let server: ScoringServer;
  try {
    server = new ScoringServer(model, {
      modelName: name,
      modelVersion: resolved.registered?.version,
      host: options.host,
      port: options.port,
      maxBodyBytes: options.maxBodyBytes,
      requestTimeoutMs: options.timeoutSeconds * 1000,
      token: config.serverToken,
      allowUnauthenticated: options.allowUnauthenticated,
      serverVersion: options.serverVersion,
    });
  } catch (error) {
    await model.close();
    throw error;
  }
  const url = await server.start();
  return { url, name, resolved, model, stop: () => server.stop() };
}
