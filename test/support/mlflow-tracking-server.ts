import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { tempDir } from './temp.js';
import { freePort, venvBin, venvEnv } from './mlflow-scoring-server.js';
import { REPO_ROOT } from './paths.js';
import { startProcessServer } from './process-server.js';

/** What python/register_fixtures.py made on the server. */
interface RegisteredFixtures {
  readonly runs: Record<'onnx-iris' | 'onnx-regressor' | 'sklearn-iris', string>;
  readonly registered: Record<'iris' | 'regressor' | 'sk-iris', string[]>;
  readonly logged_models: { readonly iris_onnx: { readonly model_id: string; readonly run_id: string } };
  readonly stage: string | null;
}

/** A real MLflow tracking server (SQLite backend, artifacts served by the server itself). */
export interface MlflowTrackingServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts `mlflow server` on loopback with a fresh SQLite store, and waits for /health. */
export async function startMlflowTrackingServer(): Promise<MlflowTrackingServer> {
  const dir = tempDir('tracking');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startProcessServer({
    command: path.join(venvBin(), 'mlflow'),
    args: [
      'server',
      '--backend-store-uri',
      `sqlite:///${dir}/mlflow.db`,
      '--artifacts-destination',
      `${dir}/artifacts`,
      '--serve-artifacts',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
    ],
    cwd: dir,
    env: { ...process.env, ...venvEnv() },
    readyUrl: `${url}/health`,
  });
  return { url, stop: () => server.stop() };
}

/**
 * Runs a script of python/ that logs and registers models on `trackingUri` (register_fixtures.py,
 * train_parity_models.py), and returns what it made: the JSON document on its last line.
 */
async function registerModels<Made>(script: string, trackingUri: string): Promise<Made> {
  const { stdout } = await promisify(execFile)(path.join(venvBin(), 'python'), [path.join(REPO_ROOT, 'python', script), trackingUri], {
    env: { ...process.env, ...venvEnv() },
    maxBuffer: 10 * 1024 * 1024,
  });
  const last = stdout.trim().split('\n').at(-1)!;
  return JSON.parse(last) as Made;
}

/** A tracking server with models registered, for the tests of one file. */
export interface RegistryForTests<Made = RegisteredFixtures> {
  /** The tracking (and registry) server's URL. */
  readonly url: string;
  /** What was registered on it. */
  readonly made: Made;
}

/**
 * Starts a real tracking server and registers models on it with `script` (by default the
 * fixtures, with python/register_fixtures.py) before the tests of the calling file, and stops it
 * after them. Read `url` and `made` inside tests (they throw before the start).
 */
export function registryForTests<Made = RegisteredFixtures>(script = 'register_fixtures.py', timeoutMs = 180_000): RegistryForTests<Made> {
  let started: { server: MlflowTrackingServer; made: Made } | undefined;
  beforeAll(async () => {
    const server = await startMlflowTrackingServer();
    try {
      started = { server, made: await registerModels<Made>(script, server.url) };
    } catch (error) {
      await server.stop();
      throw error;
    }
  }, timeoutMs);
  afterAll(async () => {
    await started?.server.stop();
  });
  const get = (): { server: MlflowTrackingServer; made: Made } => {
    if (started === undefined) throw new Error('The tracking server is not started yet: read it inside a test');
    return started;
  };
  return {
    get url() {
      return get().server.url;
    },
    get made() {
      return get().made;
    },
  };
}
