import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/mlflow-scoring-server.js';
import { nonLoopbackIPv4 } from '../../../test/support/network.js';
import { CLI_BIN, FIXTURE_MODELS, REPO_ROOT } from '../../../test/support/paths.js';
import { startProcessServer } from '../../../test/support/process-server.js';
import { cleanEnv, runCli } from '../../../test/support/run-cli.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { tempDir, tempFile } from '../../../test/support/temp.js';

const IRIS = path.join(FIXTURE_MODELS, 'onnx-iris');

const file = tempFile;

describe('mldeploy models predict', () => {
  it('scores a JSON file, a CSV file, stdin, and writes -o', async () => {
    const json = await runCli(['models', 'predict', '-m', IRIS, '-i', file('in.json', '{"inputs": [[5.1, 3.5, 1.4, 0.2]]}')]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ predictions: { label: [0] } });
    const csv = await runCli([
      'models',
      'predict',
      '-m',
      path.join(FIXTURE_MODELS, 'onnx-regressor'),
      '-t',
      'csv',
      '-i',
      file('in.csv', 'age,bmi,bp,s5\n0.038,0.061,0.021,0.019\n'),
    ]);
    expect(JSON.parse(csv.stdout)).toMatchObject({ predictions: [{ variable: expect.any(Number) as number }] });
    const stdin = await runCli(['models', 'predict', '-m', IRIS], { stdin: '{"instances": [[6.3, 3.3, 6.0, 2.5]]}' });
    expect(JSON.parse(stdin.stdout)).toMatchObject({ predictions: { label: [2] } });
    const output = path.join(tempDir('out'), 'p.json');
    expect(
      (await runCli(['models', 'predict', '-m', IRIS, '-i', file('in.json', '{"inputs": [[5.1, 3.5, 1.4, 0.2]]}'), '-o', output])).stdout,
    ).toBe('');
    expect(JSON.parse(readFileSync(output, 'utf8'))).toMatchObject({ predictions: { label: [0] } });
  });

  it.each([
    ['no model URI', ['models', 'predict', '-i', 'x.json'], 2, /required option '-m, --model-uri <URI>' not specified/],
    [
      'an input file that does not exist',
      ['models', 'predict', '-m', IRIS, '-i', '/no/such.json'],
      2,
      /Path '\/no\/such\.json' does not exist/,
    ],
    ['an unknown content type', ['models', 'predict', '-m', IRIS, '-t', 'xml'], 2, /argument 'xml' is invalid/],
    [
      'a model folder that does not exist',
      ['models', 'predict', '-m', '/no/such/model', '-i', 'package.json'],
      1,
      /RESOURCE_DOES_NOT_EXIST: Could not load model \/no\/such\/model \(step: resolve\): \/no\/such\/model is not a folder/,
    ],
    [
      'a folder that is not a model',
      ['models', 'predict', '-m', REPO_ROOT, '-i', 'package.json'],
      1,
      /INVALID_PARAMETER_VALUE: .*MLmodel does not exist: the folder is not an MLflow model directory/,
    ],
    [
      'a malformed request',
      ['models', 'predict', '-m', IRIS, '-i', 'package.json'],
      1,
      /BAD_REQUEST: The input must be a JSON dictionary with exactly one of the input fields/,
    ],
    [
      'a registry URI without MLFLOW_TRACKING_URI',
      ['models', 'predict', '-m', 'models:/iris/1', '-i', 'package.json'],
      1,
      /needs an MLflow registry server.*— Set MLFLOW_TRACKING_URI/,
    ],
  ])('%s', async (_what, args, code, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
  });
});

describe('mldeploy models serve', () => {
  it('serves until SIGTERM, naming the model for the Open Inference Protocol, then exits 0', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI_BIN, 'models', 'serve', '-m', IRIS, '-p', String(port), '--name', 'iris'], {
      cwd: REPO_ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the server', async () =>
        (await fetch(`http://127.0.0.1:${port}/ping`).catch(() => undefined))?.status === 200 ? true : undefined,
      );
      // The line is written just after the server starts answering: wait for it too, not just /ping.
      await waitFor('the serving line', () => (stderr.includes('Serving iris') ? true : undefined));
      expect(stderr).toContain(`Serving iris (onnx) from ${IRIS} at http://127.0.0.1:${port}`);
      expect((await fetch(`http://127.0.0.1:${port}/v2/models/iris`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('Stopping: finishing requests in flight');
  });

  it('--allow-unauthenticated serves beyond loopback without a token, answering without Authorization, and warns once on stderr', async (context) => {
    const address = nonLoopbackIPv4();
    if (address === undefined) context.skip('this machine has no non-loopback address to bind');
    const port = await freePort();
    const url = `http://${address!}:${port}`;
    const server = await startProcessServer({
      command: process.execPath,
      args: [CLI_BIN, 'models', 'serve', '-m', IRIS, '-h', address!, '-p', String(port), '--allow-unauthenticated'],
      env: cleanEnv(),
      readyUrl: `${url}/ping`,
    });
    try {
      const scored = await fetch(`${url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] }),
      });
      expect(scored.status).toBe(200);
      expect(await scored.json()).toMatchObject({ predictions: { label: [0] } });
      // The warning comes just before the serving line, which is written just after /ping answers.
      await waitFor('the serving line', () => (server.output().includes('Serving onnx-iris') ? true : undefined));
      const warnings = server
        .output()
        .split('\n')
        .filter((line) => line.startsWith('Warning:'));
      expect(warnings).toEqual([
        `Warning: requests to ${url} are not authenticated by mldeploy (--allow-unauthenticated): the platform in front must authenticate callers and be the only way in`,
      ]);
    } finally {
      await server.stop();
    }
  });

  it.each([
    ['a port that is not a number', ['-p', 'http'], 2, /Invalid value for '-p': "http" is not a whole number from 0 to 65535/],
    ['a negative timeout', ['-t', '-5'], 2, /Invalid value for '-t'/],
    [
      'a public address without a token',
      ['-h', '0.0.0.0'],
      1,
      /INVALID_PARAMETER_VALUE: Refusing to serve on 0\.0\.0\.0 without a token.*MLDEPLOY_SERVER_TOKEN/,
    ],
  ])('refuses %s', async (_what, flags, code, message) => {
    const result = await runCli(['models', 'serve', '-m', IRIS, ...flags]);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
  });
});

describe('mldeploy models download', () => {
  it('writes the model into the folder, which then serves; refuses a folder that is not empty, and a model that is not there', async () => {
    const dest = path.join(tempDir('download'), 'model');
    const result = await runCli(['models', 'download', '-m', IRIS, '-d', dest]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`Downloaded ${IRIS} to ${dest}`);
    expect(readFileSync(path.join(dest, 'MLmodel'), 'utf8')).toBe(readFileSync(path.join(IRIS, 'MLmodel'), 'utf8'));
    const scored = await runCli(['models', 'predict', '-m', dest, '-i', file('in.json', '{"inputs": [[5.1, 3.5, 1.4, 0.2]]}')]);
    expect(JSON.parse(scored.stdout)).toMatchObject({ predictions: { label: [0] } });

    const again = await runCli(['models', 'download', '-m', IRIS, '-d', dest]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`Invalid value for '-d' / '--dest': ${dest} is not empty.`);

    const missing = await runCli([
      'models',
      'download',
      '-m',
      path.join(tempDir('nothing'), 'no-model'),
      '-d',
      path.join(tempDir('download'), 'm'),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('RESOURCE_DOES_NOT_EXIST');
  });
});
