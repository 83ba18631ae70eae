import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, tempFile } from '../../../test/support/temp.js';
import { freePort, startMlflowScoringServer, venvBin, type MlflowScoringServer } from '../../../test/support/mlflow-scoring-server.js';
import { CLI_BIN, FIXTURE_MODELS, REPO_ROOT } from '../../../test/support/paths.js';
import { cleanEnv, runCli, type CliResult } from '../../../test/support/run-cli.js';
import { waitFor } from '../../../test/support/wait-for.js';

const expected = JSON.parse(readFileSync(path.join(FIXTURE_MODELS, 'sklearn-iris.expected.json'), 'utf8')) as {
  input: { dataframe_split: { columns: string[]; data: number[][] } };
  predictions: number[];
};

const file = tempFile;

describe('the remote target through the mldeploy CLI, against real MLflow scoring servers', () => {
  let server: MlflowScoringServer;
  let target: string;
  const cli = (...args: string[]): Promise<CliResult> => runCli([...args.slice(0, 1), '-t', target, ...args.slice(1)]);
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await cli(...args, '--json');
    expect(result.stderr).toBe('');
    return JSON.parse(result.stdout) as T;
  };

  beforeAll(async () => {
    server = await startMlflowScoringServer(path.join(FIXTURE_MODELS, 'sklearn-iris'));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('create, get, list, predict, update and delete a deployment', async () => {
    target = `remote:${tempDir('remote-home')}`;
    const create = await cli('create', '--name', 'iris', '-m', server.url);
    expect(create.code).toBe(0);
    expect(create.stdout).toBe('python_function deployment iris is created\n');

    const got = await json<Record<string, unknown>>('get', '--name', 'iris');
    expect(got).toMatchObject({
      name: 'iris',
      flavor: 'python_function',
      model_uri: server.url,
      url: `${server.url}/invocations`,
      state: 'alive',
      server_version: '3.17.2',
    });
    expect((await cli('list')).stdout).toMatch(/NAME\s+FLAVOR\s+MODEL_URI\s+URL\s*\niris\s+python_function\s+http:\/\/127\.0\.0\.1/);

    const predict = await cli('predict', '--name', 'iris', '-I', file('in.json', JSON.stringify(expected.input)));
    expect(predict.code).toBe(0);
    expect(JSON.parse(predict.stdout)).toEqual({ predictions: expected.predictions });

    const { columns, data } = expected.input.dataframe_split;
    const csv = `${columns.join(',')}\n${data.map((r) => r.join(',')).join('\n')}\n`;
    expect(JSON.parse((await cli('predict', '--name', 'iris', '-I', file('in.csv', csv))).stdout)).toEqual({
      predictions: expected.predictions,
    });

    const update = await cli('update', '--name', 'iris', '-C', 'timeout=30');
    expect(update.stdout).toBe('Deployment iris is updated (with flavor python_function)\n');
    expect((await json<{ config: unknown }>('get', '--name', 'iris')).config).toEqual({ timeout: 30, ping_timeout: 5 });

    expect((await cli('delete', '--name', 'iris')).stdout).toBe('Deployment iris is deleted\n');
    expect((await cli('delete', '--name', 'iris')).code).toBe(0);
    const gone = await cli('get', '--name', 'iris');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(
      /^error: RESOURCE_DOES_NOT_EXIST: Deployment "iris" does not exist on the remote target — See what exists with 'mldeploy list -t remote'\.\n$/,
    );
  });

  it('the scoring server’s own errors come back typed, with MLflow’s status and code', async () => {
    target = `remote:${tempDir('remote-home')}`;
    await cli('create', '--name', 'iris', '-m', server.url);
    const wrongShape = await cli('predict', '--name', 'iris', '-I', file('bad.json', '{"inputs": [[1, 2, 3, 4]]}'));
    expect(wrongShape.code).toBe(1);
    expect(wrongShape.stderr).toMatch(/^error: INVALID_PARAMETER_VALUE: Failed to predict data .*Model is missing inputs \['sepal_length'/);
    const badCsv = await cli('predict', '--name', 'iris', '--content-type', 'csv', '-I', file('bad.txt', 'sepal_length\n"unterminated\n'));
    expect(badCsv.code).toBe(1);
    expect(badCsv.stderr).toMatch(/^error: (BAD_REQUEST|INVALID_PARAMETER_VALUE): /);
  });

  it('endpoints split traffic by weight; bad splits are refused and change nothing', async () => {
    target = `remote:${tempDir('remote-home')}`;
    await cli('create', '--name', 'blue', '-m', server.url);
    await cli('create', '--name', 'green', '-m', server.url);
    const create = await cli('create-endpoint', '--endpoint', 'iris', '-C', 'traffic={"blue": 90, "green": 10}');
    expect(create.code).toBe(0);
    expect(create.stdout).toBe('Endpoint iris is created\n');
    expect((await json<{ traffic: unknown }>('get-endpoint', '--endpoint', 'iris')).traffic).toEqual({ blue: 90, green: 10 });

    const predict = await cli('predict', '--endpoint', 'iris', '-I', file('in.json', JSON.stringify(expected.input)));
    expect(JSON.parse(predict.stdout)).toEqual({ predictions: expected.predictions });

    for (const [traffic, message] of [
      ['{"blue": 50, "green": 40}', /weights sum to 90; they must sum to 100/],
      ['{"blue": 50, "red": 50}', /names deployments that do not exist: red/],
      ['{"blue": -10, "green": 110}', /Invalid traffic split/],
      ['blue=100', /The traffic split is not JSON/],
    ] as const) {
      const result = await cli('update-endpoint', '--endpoint', 'iris', '-C', `traffic=${traffic}`);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
    }
    expect((await json<{ traffic: unknown }>('get-endpoint', '--endpoint', 'iris')).traffic).toEqual({ blue: 90, green: 10 });

    const inUse = await cli('delete', '--name', 'green');
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(/RESOURCE_CONFLICT: Deployment "green" receives traffic from endpoint\(s\) iris/);
    expect((await json<{ name: string }[]>('list')).map((d) => d.name)).toEqual(['blue', 'green']);

    expect((await cli('update-endpoint', '--endpoint', 'iris', '-C', 'traffic={"blue": 100}')).code).toBe(0);
    expect((await cli('delete', '--name', 'green')).code).toBe(0);
    expect((await cli('delete-endpoint', '--endpoint', 'iris')).stdout).toBe('Endpoint iris is deleted\n');
    expect((await cli('list-endpoints')).stdout).toBe('No endpoints.\n');
  });

  it('bad creates fail with a clear error and save nothing', async () => {
    target = `remote:${tempDir('remote-home')}`;
    const deadPort = await freePort();
    const cases: [string[], RegExp][] = [
      [
        ['--name', 'a', '-m', `http://127.0.0.1:${deadPort}`],
        /TEMPORARILY_UNAVAILABLE: The server at http:\/\/127\.0\.0\.1:\d+ did not answer GET \/ping/,
      ],
      [
        ['--name', 'a', '-m', 'models:/iris/1'],
        /INVALID_PARAMETER_VALUE: The remote target's model URI must be the http\(s\) URL of a running scoring server/,
      ],
      [['--name', 'a', '-m', 'http://user:secret@127.0.0.1:1'], /must not contain credentials/],
      [['--name', 'a', '-m', server.url, '-C', 'colour=blue'], /INVALID_PARAMETER_VALUE: Invalid config for the remote target: .*colour/],
      [['--name', 'a', '-m', server.url, '-C', 'timeout=soon'], /INVALID_PARAMETER_VALUE: Invalid config for the remote target: timeout/],
      [['--name', '../etc', '-m', server.url], /INVALID_PARAMETER_VALUE: Invalid deployment name "\.\.\/etc"/],
    ];
    for (const [args, message] of cases) {
      const result = await cli('create', ...args);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain('secret');
    }
    expect((await cli('list')).stdout).toBe('No deployments.\n');

    expect((await cli('create', '--name', 'a', '-m', server.url)).code).toBe(0);
    const again = await cli('create', '--name', 'a', '-m', `http://127.0.0.1:${deadPort}`);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/RESOURCE_ALREADY_EXISTS: Deployment "a" already exists on the remote target/);
  });

  it('an update to a server that does not answer fails and keeps the old server serving', async () => {
    target = `remote:${tempDir('remote-home')}`;
    await cli('create', '--name', 'iris', '-m', server.url);
    const result = await cli('update', '--name', 'iris', '-m', `http://127.0.0.1:${await freePort()}`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/TEMPORARILY_UNAVAILABLE/);
    expect((await json<{ model_uri: string }>('get', '--name', 'iris')).model_uri).toBe(server.url);
    expect(JSON.parse((await cli('predict', '--name', 'iris', '-I', file('in.json', JSON.stringify(expected.input)))).stdout)).toEqual({
      predictions: expected.predictions,
    });
  });

  it('a server that is not a scoring server is refused', async () => {
    target = `remote:${tempDir('remote-home')}`;
    const port = await freePort();
    // Python's own HTTP server: reachable, but it answers /ping with 404.
    const other = spawn(path.join(venvBin(), 'python'), ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], {
      cwd: tempDir('static'),
      stdio: 'ignore',
    });
    try {
      await waitFor('python http.server', async () =>
        (await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined))?.ok === true ? true : undefined,
      );
      const result = await cli('create', '--name', 'a', '-m', `http://127.0.0.1:${port}`);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /INVALID_PARAMETER_VALUE: The server at http:\/\/127\.0\.0\.1:\d+ answered GET \/ping with HTTP 404: it does not look like an MLflow scoring server/,
      );
    } finally {
      other.kill();
    }
  });

  it('get reports a server that stopped as unreachable, and predict says it cannot reach it', async () => {
    target = `remote:${tempDir('remote-home')}`;
    const second = await startMlflowScoringServer(path.join(FIXTURE_MODELS, 'sklearn-iris'));
    try {
      await cli('create', '--name', 'short-lived', '-m', second.url);
      expect((await json<{ state: string }>('get', '--name', 'short-lived')).state).toBe('alive');
    } finally {
      await second.stop();
    }
    expect((await json<{ state: string }>('get', '--name', 'short-lived')).state).toBe('unreachable');
    const predict = await cli('predict', '--name', 'short-lived', '-I', file('in.json', JSON.stringify(expected.input)));
    expect(predict.code).toBe(1);
    expect(predict.stderr).toMatch(/TEMPORARILY_UNAVAILABLE: Could not reach http:\/\/127\.0\.0\.1:\d+\/invocations/);
  });

  it('concurrent creates from separate processes all land (no lost update)', async () => {
    target = `remote:${tempDir('remote-home')}`;
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const results = await Promise.all(names.map((name) => cli('create', '--name', name, '-m', server.url)));
    expect(results.map((r) => r.code)).toEqual(names.map(() => 0));
    expect((await json<{ name: string }[]>('list')).map((d) => d.name)).toEqual(names);
  });

  it('a corrupt state file is reported with its path, and not overwritten', async () => {
    const home = tempDir('remote-home');
    target = `remote:${home}`;
    writeFileSync(path.join(home, 'state.json'), '{"version": 1, "deployments": ');
    for (const args of [['list'], ['create', '--name', 'a', '-m', server.url]]) {
      const result = await cli(...args);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /INVALID_STATE: The remote target's state file .*state\.json is unreadable: it is not valid JSON — Restore it/,
      );
    }
    expect(readFileSync(path.join(home, 'state.json'), 'utf8')).toBe('{"version": 1, "deployments": ');
  });

  it('a target URI whose suffix is not an absolute folder is refused', async () => {
    const result = await runCli(['list', '-t', 'remote:relative/dir']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/INVALID_PARAMETER_VALUE: Invalid remote target URI "remote:relative\/dir"/);
  });
});

describe('remote run-local: MLflow’s scoring server in the foreground', () => {
  it('serves the model until interrupted, then exits 0', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        CLI_BIN,
        'run-local',
        '-t',
        'remote',
        '--name',
        'iris',
        '-m',
        path.join(FIXTURE_MODELS, 'sklearn-iris'),
        '-C',
        `port=${port}`,
        '-C',
        `mlflow=${path.join(venvBin(), 'mlflow')}`,
      ],
      {
        cwd: REPO_ROOT,
        env: cleanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(
        'run-local to serve',
        async () => ((await fetch(`http://127.0.0.1:${port}/ping`).catch(() => undefined))?.status === 200 ? true : undefined),
        90_000,
      );
      const response = await fetch(`http://127.0.0.1:${port}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(expected.input),
      });
      expect(await response.json()).toEqual({ predictions: expected.predictions });
      expect(stderr).toContain(
        `Serving iris (${path.join(FIXTURE_MODELS, 'sklearn-iris')}) with MLflow's scoring server at http://127.0.0.1:${port}`,
      );
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    // The server (uvicorn, a grandchild) is gone too, not orphaned.
    await waitFor(
      'the server to stop',
      async () => ((await fetch(`http://127.0.0.1:${port}/ping`).catch(() => 'refused')) === 'refused' ? true : undefined),
      15_000,
    );
  });

  it('without MLflow installed, says what to install', async () => {
    const result = await runCli(['run-local', '-t', 'remote', '--name', 'x', '-m', '/tmp/model', '-C', 'mlflow=/nonexistent/mlflow']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /RESOURCE_DOES_NOT_EXIST: MLflow's CLI was not found \(tried "\/nonexistent\/mlflow"\) — Install it with `pip install mlflow`/,
    );
  });

  it('refuses to bind beyond loopback, since MLflow’s server has no authentication', async () => {
    const result = await runCli(['run-local', '-t', 'remote', '--name', 'x', '-m', '/tmp/model', '-C', 'host=0.0.0.0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/INVALID_PARAMETER_VALUE: Invalid run-local config for the remote target: host/);
  });
});

describe('installing the plugin package is all it takes', () => {
  let server: MlflowScoringServer;
  beforeAll(async () => {
    server = await startMlflowScoringServer(path.join(FIXTURE_MODELS, 'sklearn-iris'));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a project with the package in node_modules gets help and CRUD for its target; one without does not', async () => {
    // A user's project: the plugin installed under another name, declaring a target name mldeploy has never seen.
    const project = tempDir('user-project');
    const pkg = path.join(project, 'node_modules', 'acme-mldeploy-remote');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: 'acme-mldeploy-remote', type: 'module', mldeploy: { targets: { acme: './index.js' } } }),
    );
    const remoteDist = pathToFileURL(path.join(REPO_ROOT, 'examples', 'target-remote', 'dist', 'index.js')).href;
    writeFileSync(path.join(pkg, 'index.js'), `export { default } from ${JSON.stringify(remoteDist)};\n`);
    const target = `acme:${tempDir('acme-home')}`;
    const inProject = (...args: string[]): Promise<CliResult> => runCli(args, { cwd: project });

    expect((await inProject('help', '-t', 'acme')).stdout).toContain('Target "remote"');
    expect((await inProject('create', '-t', target, '--name', 'iris', '-m', server.url)).stdout).toBe(
      'python_function deployment iris is created\n',
    );
    expect((await inProject('list', '-t', target)).stdout).toMatch(/^List of all deployments:\nNAME/);
    expect((await inProject('get', '-t', target, '--name', 'iris')).stdout).toContain('state: alive');
    expect((await inProject('update', '-t', target, '--name', 'iris', '-m', server.url)).code).toBe(0);
    expect((await inProject('delete', '-t', target, '--name', 'iris')).stdout).toBe('Deployment iris is deleted\n');

    const elsewhere = await runCli(['help', '-t', 'acme'], { cwd: tempDir('other-project') });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/No plugin found for managing model deployments to "acme"/);
  });
});
