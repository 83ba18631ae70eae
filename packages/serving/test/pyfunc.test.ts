import { spawn } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlDeployError } from '@mldeploy/core';
import { ScoringServer, loadServedModel } from '@mldeploy/serving';
import { FIXTURE_MODELS, REPO_ROOT } from '../../../test/support/paths.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { isRunning } from '../../../test/support/processes.js';
import { tempDir } from '../../../test/support/temp.js';
import { closeTo, post, pyfuncOptions, recordedCases, serveFixture, type RunningServer } from './support.js';

const sleepy = (x: number, seconds: number): string =>
  JSON.stringify({ dataframe_split: { columns: ['x'], data: [[x]] }, params: { sleep_seconds: seconds } });

describe("pyfunc models through MLflow's own scoring server", () => {
  let sklearn: RunningServer;
  beforeAll(async () => {
    sklearn = await serveFixture('sklearn-iris');
  });
  afterAll(async () => {
    await sklearn?.server.stop();
  });

  for (const recorded of recordedCases('sklearn-iris')) {
    it(`answers as MLflow does: ${recorded.name}`, async () => {
      const { status, body } = await post(`${sklearn.url}/invocations`, recorded.body, recorded.content_type);
      expect(status).toBe(recorded.status);
      if (status === 200) expect(closeTo(body, recorded.response)).toBe(true);
      else if (typeof recorded.response === 'object' && recorded.response !== null)
        expect((body as { error_code: string }).error_code).toBe((recorded.response as { error_code: string }).error_code);
      else expect((body as { error_code: string }).error_code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });
  }

  it('answers the Open Inference Protocol too', async () => {
    const { status, body } = await post(
      `${sklearn.url}/v2/models/sklearn-iris/infer`,
      JSON.stringify({
        inputs: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'].map((name, i) => ({
          name,
          shape: [2],
          datatype: 'FP64',
          data: [[5.1, 3.5, 1.4, 0.2][i], [6.3, 3.3, 6.0, 2.5][i]],
        })),
      }),
      'application/json',
    );
    expect(status).toBe(200);
    expect(body).toMatchObject({
      model_name: 'sklearn-iris',
      outputs: [{ name: 'predictions', datatype: 'INT64', shape: [2], data: [0, 2] }],
    });
  });
});

describe('non-finite predictions of the MLflow worker (issue 8, finding 10)', () => {
  let sleepyServer: RunningServer;
  beforeAll(async () => {
    sleepyServer = await serveFixture('pyfunc-sleepy');
  });
  afterAll(async () => {
    await sleepyServer?.server.stop();
  });

  it("MLflow's bare NaN and Infinity predictions come back as null in valid JSON", async () => {
    const response = await fetch(`${sleepyServer.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"dataframe_split": {"columns": ["x"], "data": [[NaN], [1e400], [2.5]]}}',
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(await response.text())).toEqual({ predictions: [{ x: null }, { x: null }, { x: 5 }] });
  });
});

describe('request limits and lifecycle (a slow pyfunc model)', () => {
  it('a request over the timeout gets 504 as JSON, and the server keeps serving', async () => {
    const running = await serveFixture('pyfunc-sleepy', { requestTimeoutMs: 1000 });
    try {
      const slow = await post(`${running.url}/invocations`, sleepy(1, 3), 'application/json');
      expect(slow.status).toBe(504);
      expect(slow.body).toMatchObject({ error_code: 'DEADLINE_EXCEEDED', message: 'Request processing time exceeded limit (1000 ms)' });
      const fast = await post(`${running.url}/invocations`, sleepy(2, 0), 'application/json');
      expect(fast).toMatchObject({ status: 200, body: { predictions: [{ x: 4 }] } });
    } finally {
      await running.server.stop();
    }
  });

  it('stop() lets requests in flight finish, refuses new ones, and stops the worker', async () => {
    const running = await serveFixture('pyfunc-sleepy');
    const inFlight = post(`${running.url}/invocations`, sleepy(3, 1.5), 'application/json');
    await waitFor('the request to be in flight', () => (running.server.activeRequests === 1 ? true : undefined));
    const stopped = running.server.stop();
    expect(await inFlight).toMatchObject({ status: 200, body: { predictions: [{ x: 6 }] } });
    await stopped;
    expect(await fetch(`${running.url}/ping`).catch(() => 'refused')).toBe('refused');
    await expect(running.model.invocations('json', Buffer.from(sleepy(1, 0)))).rejects.toMatchObject({ code: 'TEMPORARILY_UNAVAILABLE' });
  });

  it('reports ready only after the warm-up prediction succeeded', async () => {
    const dir = path.join(tempDir('slow-warmup'), 'model');
    cpSync(path.join(FIXTURE_MODELS, 'pyfunc-sleepy'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'serving_input_example.json'), sleepy(1, 2));
    const model = await loadServedModel(dir, { pyfunc: pyfuncOptions() });
    const server = new ScoringServer(model, {
      modelName: 'm',
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1e6,
      requestTimeoutMs: 30_000,
      serverVersion: 'x',
    });
    const started = server.start();
    try {
      const notReady = await waitFor('the server to listen', async () => {
        const port = server.port;
        if (port === 0) return undefined;
        return fetch(`http://127.0.0.1:${port}/ping`).catch(() => undefined);
      });
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ error_code: 'TEMPORARILY_UNAVAILABLE' });
      const url = await started;
      expect((await fetch(`${url}/ping`)).status).toBe(200);
    } finally {
      await started.catch(() => undefined);
      await server.stop();
    }
  });

  it('a model whose warm-up fails never reports ready, and start() says why', async () => {
    const dir = path.join(tempDir('bad-warmup'), 'model');
    cpSync(path.join(FIXTURE_MODELS, 'onnx-iris'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'serving_input_example.json'), JSON.stringify({ inputs: [[1, 2, 3]] }));
    const model = await loadServedModel(dir, { pyfunc: pyfuncOptions() });
    const server = new ScoringServer(model, {
      modelName: 'm',
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1e6,
      requestTimeoutMs: 30_000,
      serverVersion: 'x',
    });
    const error = (await server.start().catch((e: unknown) => e)) as MlDeployError;
    expect(error).toBeInstanceOf(MlDeployError);
    expect(error.code).toBe('INVALID_STATE');
    expect(error.message).toMatch(
      /The model failed its warm-up prediction: .*Shape of input \(1, 3\) does not match expected shape \(-1, 4\)/,
    );
    expect(server.port).toBe(0);
  });

  it('without MLflow, a pyfunc model fails with what to install', async () => {
    const error = (await loadServedModel(path.join(FIXTURE_MODELS, 'sklearn-iris'), {
      pyfunc: { ...pyfuncOptions(), mlflowCommand: '/nonexistent/bin/mlflow' },
    }).catch((e: unknown) => e)) as MlDeployError;
    expect(error.code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(error.message).toMatch(/MLflow is needed to serve this python_function\/sklearn model, and its CLI was not found/);
    expect(error.hint).toMatch(/pip install mlflow/);
  });

  it('a pyfunc model MLflow cannot load fails with MLflow’s reason', async () => {
    const dir = path.join(tempDir('broken-pyfunc'), 'model');
    cpSync(path.join(FIXTURE_MODELS, 'sklearn-iris'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.pkl'), 'not a pickle');
    const error = (await loadServedModel(dir, { pyfunc: pyfuncOptions() }).catch((e: unknown) => e)) as MlDeployError;
    expect(error.code).toBe('INVALID_STATE');
    expect(error.message).toMatch(/MLflow's scoring server exited while loading/);
  });
});

describe('no MLflow process outlives its model', () => {
  it('a process that exits while its pyfunc model still loads takes MLflow’s process group with it', async () => {
    const dir = tempDir('slow-mlflow');
    const pidFile = path.join(dir, 'mlflow.pid');
    // A stand-in for a slow MLflow (this test is about process lifetimes, not MLflow): it records
    // its pid and never answers /ping.
    const fake = path.join(dir, 'mlflow');
    writeFileSync(fake, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 300\n`, { mode: 0o755 });
    const script = `
      import { loadServedModel } from '@mldeploy/serving';
      import { existsSync } from 'node:fs';
      const timer = setInterval(() => { if (existsSync(${JSON.stringify(pidFile)})) process.exit(0); }, 20);
      await loadServedModel(${JSON.stringify(path.join(FIXTURE_MODELS, 'sklearn-iris'))}, {
        pyfunc: { mlflowCommand: ${JSON.stringify(fake)}, env: process.env, startupTimeoutMs: 60000, requestTimeoutSeconds: 60 },
      });
      clearInterval(timer);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: 'inherit' });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    await waitFor('the MLflow stand-in to be gone', () => (isRunning(pid) ? undefined : true));
  });
});
