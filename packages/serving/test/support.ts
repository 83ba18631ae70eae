import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ScoringServer, loadServedModel, type ScoringServerOptions, type ServedModel } from '@mldeploy/serving';
import { freePort, venvEnv, venvBin } from '../../../test/support/mlflow-scoring-server.js';
import { CLI_BIN, FIXTURE_MODELS } from '../../../test/support/paths.js';
import { startProcessServer } from '../../../test/support/process-server.js';
import { cleanEnv } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';

/** One request recorded against MLflow's own scoring server by python/make_fixtures.py. */
export interface RecordedCase {
  readonly name: string;
  readonly content_type: string;
  readonly body: string;
  readonly status: number;
  readonly response: unknown;
}

export function recordedCases(model: string): RecordedCase[] {
  return JSON.parse(readFileSync(path.join(FIXTURE_MODELS, `${model}.cases.json`), 'utf8')) as RecordedCase[];
}

/** Options of the MLflow worker for pyfunc models: the project's venv. */
export function pyfuncOptions(): Parameters<typeof loadServedModel>[1]['pyfunc'] {
  return {
    mlflowCommand: path.join(venvBin(), 'mlflow'),
    env: { ...process.env, ...venvEnv() },
    startupTimeoutMs: 120_000,
    requestTimeoutSeconds: 60,
  };
}

/** A running scoring server for a fixture model, and how to stop it. */
export interface RunningServer {
  readonly url: string;
  readonly server: ScoringServer;
  readonly model: ServedModel;
}

export async function serveFixture(
  fixture: string,
  options: Partial<ScoringServerOptions> = {},
  dir = path.join(FIXTURE_MODELS, fixture),
): Promise<RunningServer> {
  const model = await loadServedModel(dir, { pyfunc: pyfuncOptions() });
  const server = new ScoringServer(model, {
    modelName: fixture,
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: 10 * 1024 * 1024,
    requestTimeoutMs: 30_000,
    serverVersion: '0.0.0-test',
    ...options,
  });
  const url = await server.start();
  return { url, server, model };
}

/** Posts a body; returns the status and the parsed (or raw) response. */
export async function post(
  url: string,
  body: string | Buffer,
  contentType: string | undefined,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(url, { method: 'POST', body, headers: contentType === undefined ? {} : { 'content-type': contentType } });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON.
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Deep equality with numbers compared within `tolerance`. */
export function closeTo(actual: unknown, expected: unknown, tolerance = 1e-6): boolean {
  if (typeof actual === 'number' && typeof expected === 'number') return Math.abs(actual - expected) <= tolerance;
  if (Array.isArray(actual) && Array.isArray(expected))
    return actual.length === expected.length && actual.every((a, i) => closeTo(a, expected[i], tolerance));
  if (typeof actual === 'object' && actual !== null && typeof expected === 'object' && expected !== null) {
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    return Object.keys(a).length === Object.keys(e).length && Object.keys(e).every((k) => closeTo(a[k], e[k], tolerance));
  }
  return actual === expected;
}

/** A scoring server running as a process of its own. */
interface ScoringProcess {
  readonly url: string;
  stop(): Promise<void>;
}

/** mldeploy's and MLflow's scoring servers on the same model. */
export interface SideBySide {
  readonly ours: ScoringProcess;
  readonly theirs: ScoringProcess;
}

async function startScoringProcess(
  command: string,
  args: (port: number) => string[],
  env: Record<string, string>,
): Promise<ScoringProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startProcessServer({ command, args: args(port), env, readyUrl: `${url}/ping` });
  return { url, stop: () => server.stop() };
}

/**
 * `mldeploy models serve` and `mlflow models serve` on the same model URI, resolved against the
 * registry at `trackingUri`, started together (each takes seconds to load). If one fails to start,
 * the other is stopped.
 */
export async function serveSideBySide(uri: string, trackingUri: string): Promise<SideBySide> {
  const env = {
    ...cleanEnv(venvEnv()),
    MLFLOW_TRACKING_URI: trackingUri,
    MLDEPLOY_CACHE_DIR: tempDir('cache'),
    MLDEPLOY_MLFLOW: path.join(venvBin(), 'mlflow'),
  };
  const [ours, theirs] = await Promise.allSettled([
    startScoringProcess(process.execPath, (port) => [CLI_BIN, 'models', 'serve', '-m', uri, '-p', String(port)], env),
    startScoringProcess(
      path.join(venvBin(), 'mlflow'),
      (port) => ['models', 'serve', '-m', uri, '-p', String(port), '-h', '127.0.0.1', '--env-manager', 'local'],
      env,
    ),
  ]);
  if (ours.status === 'fulfilled' && theirs.status === 'fulfilled') return { ours: ours.value, theirs: theirs.value };
  await Promise.all([ours, theirs].flatMap((started) => (started.status === 'fulfilled' ? [started.value.stop()] : [])));
  throw ours.status === 'rejected' ? ours.reason : (theirs as PromiseRejectedResult).reason;
}
