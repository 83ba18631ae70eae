import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { mlflowConnectionFromEnv, resolveModel } from '@mldeploy/serving';
import { freePort } from '../../../test/support/mlflow-scoring-server.js';
import { registryForTests } from '../../../test/support/mlflow-tracking-server.js';
import { CLI_BIN, FIXTURE_MODELS, VENV } from '../../../test/support/paths.js';
import { startProcessServer } from '../../../test/support/process-server.js';
import { cleanEnv, runCli, type CliResult } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';
import { IRIS, localHome, predictVia } from './support.js';

interface DeploymentView {
  name: string;
  model_uri: string;
  model_version: string | null;
  url: string;
  workers: { pid: number; port: number }[];
}

const mlflow = registryForTests();

/** The CLI against the home's target, in an environment of its own (over a clean one). */
function cliIn(target: string, env: Record<string, string>): (...args: string[]) => Promise<CliResult> {
  return (...args) => runCli([...args.slice(0, 1), '-t', target, ...args.slice(1)], { env, timeoutMs: 120_000 });
}

/** The JSON a CLI run printed, failing with its stderr when it did not succeed. */
function parsed(result: CliResult): unknown {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

/** The environment a running process was started with, as the kernel shows it to its user. */
function environOf(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .filter((entry) => entry !== '')
    .map((entry): [string, string] => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]);
  return new Map(entries);
}

function serverPid(home: string): number {
  return (JSON.parse(readFileSync(path.join(home, 'server.json'), 'utf8')) as { pid: number }).pid;
}

/** Credentials for every kind of model store, as a user's shell may hold them. */
const SECRETS = {
  MLFLOW_TRACKING_TOKEN: 'secret-tracking-token',
  MLFLOW_TRACKING_USERNAME: 'alice',
  MLFLOW_TRACKING_PASSWORD: 'secret-password',
  AWS_ACCESS_KEY_ID: 'AKIASECRET',
  AWS_SECRET_ACCESS_KEY: 'secret-aws-key',
  AWS_SESSION_TOKEN: 'secret-aws-session',
  AZURE_STORAGE_CONNECTION_STRING: 'secret-azure-connection',
  AZURE_STORAGE_ACCESS_KEY: 'secret-azure-key',
  GOOGLE_APPLICATION_CREDENTIALS: '/secret/gcp-key.json',
};

function expectNoSecrets(pid: number, what: string): Map<string, string> {
  const environ = environOf(pid);
  for (const name of Object.keys(SECRETS)) expect(environ.has(name), `${what} (pid ${pid}) holds ${name}`).toBe(false);
  for (const value of Object.values(SECRETS)) expect([...environ.values()], `${what} (pid ${pid})`).not.toContain(value);
  return environ;
}

describe('the local client resolves models in the caller’s environment (issue 8, finding 8)', () => {
  it('a control plane started without MLFLOW_TRACKING_URI deploys models:/iris@champion for a caller that has it', async () => {
    const local = localHome('finding-8');
    try {
      // Started first, by a shell that knows no tracking server.
      expect((await runCli(['server', 'start', '--home', local.home], { timeoutMs: 120_000 })).code).toBe(0);
      expect(environOf(serverPid(local.home)).has('MLFLOW_TRACKING_URI')).toBe(false);
      const cli = cliIn(local.target, { MLFLOW_TRACKING_URI: mlflow.url });
      const champion = mlflow.made.registered.iris.at(-1)!;

      const created = await cli('create', '--name', 'champ', '-m', 'models:/iris@champion', '--json');
      expect(parsed(created)).toMatchObject({ model_uri: 'models:/iris@champion', model_version: champion });
      // Not a terminal: no progress line, only the status line.
      expect(created.stderr).not.toContain('Downloading');

      const got = parsed(await cli('get', '--name', 'champ', '--json')) as DeploymentView;
      expect(got).toMatchObject({ model_uri: 'models:/iris@champion', model_version: champion });
      expect(parsed(await cli('history', '--name', 'champ', '--json'))).toMatchObject([
        { revision: 1, model_uri: 'models:/iris@champion', model_version: champion },
      ]);
      expect((await predictVia(got.url)).status).toBe(200);
      // Downloaded by the client into the home's cache, which the control plane serves from.
      expect(readdirSync(path.join(local.home, 'cache', 'models')).filter((f) => !f.startsWith('.'))).toHaveLength(1);

      const updated = parsed(await cli('update', '--name', 'champ', '-m', 'models:/iris/1', '--json')) as DeploymentView;
      expect(updated).toMatchObject({ model_uri: 'models:/iris/1', model_version: '1' });
      expect((await predictVia(updated.url)).status).toBe(200);
    } finally {
      await local.stop();
    }
  }, 240_000);

  it('create shows the download’s progress line on a terminal, as models predict does (under script(1))', async () => {
    // A home that does not exist yet: the download creates it, as only its owner may enter it.
    const home = path.join(tempDir('progress'), 'home');
    try {
      const command = [process.execPath, CLI_BIN, 'create', '-t', `local:${home}`, '--name', 'tty', '-m', 'models:/iris/1'].join(' ');
      const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], {
        env: cleanEnv({ MLFLOW_TRACKING_URI: mlflow.url }),
        timeout: 120_000,
      });
      expect(stdout).toMatch(/Downloading models:\/iris\/1: \d+\/\d+ files, \d+\.\d MB/);
      expect(stdout).toContain('deployment tty is created');
      expect(statSync(home).mode & 0o777).toBe(0o700);
    } finally {
      await runCli(['server', 'stop', '--home', home], { timeoutMs: 90_000 });
    }
  }, 180_000);

  it('without MLFLOW_TRACKING_URI in the caller’s environment the error says to set it, and nothing is created', async () => {
    const local = localHome('no-tracking');
    try {
      const failed = await cliIn(local.target, {})('create', '--name', 'x', '-m', 'models:/iris@champion');
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/needs an MLflow registry server, and MLFLOW_REGISTRY_URI \/ MLFLOW_TRACKING_URI is not set/);
      expect(failed.stderr).toContain('Set MLFLOW_TRACKING_URI=');
      expect(parsed(await cliIn(local.target, {})('list', '--json'))).toEqual([]);
    } finally {
      await local.stop();
    }
  }, 120_000);

  it('MLDEPLOY_MLFLOW in the caller’s environment, not the control plane’s, is the MLflow a python_function revision runs under', async () => {
    const local = localHome('callers-mlflow');
    const mlflowBin = path.join(VENV, 'bin', 'mlflow');
    try {
      // The control plane starts from an environment without it (and no mlflow on its PATH).
      expect((await cliIn(local.target, {})('list')).code).toBe(0);
      const model = ['--name', 'sk', '-m', path.join(FIXTURE_MODELS, 'sklearn-iris'), '-f', 'python_function'];
      const created = parsed(await cliIn(local.target, { MLDEPLOY_MLFLOW: mlflowBin })('create', ...model, '--json')) as DeploymentView & {
        config: { mlflow_command?: string };
      };
      expect(created.config.mlflow_command).toBe(mlflowBin);
      const row = {
        dataframe_split: { columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'], data: [[5.1, 3.5, 1.4, 0.2]] },
      };
      expect(await predictVia(created.url, row)).toMatchObject({ status: 200, body: { predictions: [0] } });
      // An update from a shell without it keeps the revision's.
      const updated = parsed(await cliIn(local.target, {})('update', '--name', 'sk', '-C', 'timeout=30', '--json')) as {
        config: { mlflow_command?: string };
      };
      expect(updated.config.mlflow_command).toBe(mlflowBin);
      // And a caller's wrong one is the error, not the control plane's default.
      const wrong = await cliIn(local.target, { MLDEPLOY_MLFLOW: '/nonexistent/mlflow' })('update', ...model);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('/nonexistent/mlflow');
    } finally {
      await local.stop();
    }
  }, 240_000);

  it('an http(s) model URI on a host other than the tracking server needs MLDEPLOY_ALLOWED_MODEL_HOSTS', async () => {
    const local = localHome('allowed-hosts');
    try {
      // The same real tracking server under another name: to mldeploy, another host.
      const { source } = await resolveModel('models:/iris/1', {
        connection: mlflowConnectionFromEnv({ MLFLOW_TRACKING_URI: mlflow.url }),
        cacheDir: tempDir('cache'),
        cwd: '/',
      });
      const other = new URL(source);
      other.hostname = 'localhost';
      const uri = other.toString();

      const refused = await cliIn(local.target, { MLFLOW_TRACKING_URI: mlflow.url })('create', '--name', 'web', '-m', uri);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        `PERMISSION_DENIED: Could not load model ${uri} (step: resolve): Model files are not fetched from ${other.host}`,
      );
      expect(refused.stderr).toContain(`MLDEPLOY_ALLOWED_MODEL_HOSTS=${other.host}`);

      const cli = cliIn(local.target, { MLFLOW_TRACKING_URI: mlflow.url, MLDEPLOY_ALLOWED_MODEL_HOSTS: 'localhost' });
      const created = parsed(await cli('create', '--name', 'web', '-m', uri, '--json')) as DeploymentView;
      expect(created.model_uri).toBe(uri);
      expect((await predictVia(created.url)).status).toBe(200);
    } finally {
      await local.stop();
    }
  }, 180_000);
});

describe('the control plane and its workers hold none of the caller’s credentials', () => {
  it('started in the background by a CLI whose environment has them', async () => {
    const local = localHome('no-credentials');
    try {
      const env = { ...SECRETS, MLFLOW_TRACKING_URI: mlflow.url, MLDEPLOY_LOG_LEVEL: 'debug' };
      // The create starts the control plane, and downloads with the token (the registry accepts any).
      const created = parsed(
        await cliIn(local.target, env)('create', '--name', 'iris', '-m', 'models:/iris/1', '--json'),
      ) as DeploymentView;
      expect(created.model_version).toBe('1');
      const plane = expectNoSecrets(serverPid(local.home), 'the control plane');
      const worker = expectNoSecrets(created.workers[0]!.pid, 'a worker');
      // The rest of the environment does arrive: these are the processes the CLI started.
      for (const environ of [plane, worker]) {
        expect(environ.get('MLDEPLOY_LOG_LEVEL')).toBe('debug');
        expect(environ.get('MLFLOW_TRACKING_URI')).toBe(mlflow.url);
      }
    } finally {
      await local.stop();
    }
  }, 180_000);

  it('run in the foreground (mldeploy server run) from a shell that has them: its workers do not', async () => {
    const home = tempDir('foreground');
    const port = await freePort();
    const server = await startProcessServer({
      command: process.execPath,
      args: [CLI_BIN, 'server', 'run', '--home', home, '--port', String(port)],
      env: cleanEnv(SECRETS),
      readyUrl: `http://127.0.0.1:${port}/api/v1/health`,
    });
    try {
      const created = parsed(await cliIn(`local:${home}`, {})('create', '--name', 'iris', '-m', IRIS, '--json')) as DeploymentView;
      expectNoSecrets(created.workers[0]!.pid, 'a worker of a foreground control plane');
    } finally {
      await server.stop();
    }
  }, 180_000);
});
