import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlDeployError } from '@mldeploy/core';
import { ScoringServer, loadServedModel } from '@mldeploy/serving';
import { nonLoopbackIPv4 } from '../../../test/support/network.js';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';
import { post, pyfuncOptions, serveFixture, type RunningServer } from './support.js';

const IRIS_ROW = [5.1, 3.5, 1.4, 0.2];

describe('MLflow scoring protocol routes', () => {
  let running: RunningServer;
  beforeAll(async () => {
    running = await serveFixture('onnx-iris', { maxBodyBytes: 2048 });
  });
  afterAll(async () => {
    await running?.server.stop();
  });

  it('GET and HEAD /ping and /health answer 200 once ready (HEAD /ping is 405 in MLflow)', async () => {
    for (const route of ['/ping', '/health']) {
      const get = await fetch(`${running.url}${route}`);
      expect(get.status).toBe(200);
      expect(await get.text()).toBe('\n');
      const head = await fetch(`${running.url}${route}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
    }
  });

  it('/version is JSON (MLflow sends a bare, unquoted string)', async () => {
    expect(await (await fetch(`${running.url}/version`)).json()).toEqual({ version: '0.0.0-test', server: 'mldeploy' });
  });

  it('a missing Content-Type gets 415 with a hint (MLflow: 500)', async () => {
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${running.url}/invocations`, { method: 'POST' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ inputs: [IRIS_ROW] }));
    });
    expect(response.status).toBe(415);
    expect(JSON.parse(response.body)).toEqual({
      error_code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'Missing Content-Type header.',
      hint: "Send 'Content-Type: application/json' (or text/csv) with the request.",
    });
  });

  it('application/csv, which MLflow’s docs advertise, is accepted', async () => {
    const { status, body } = await post(`${running.url}/invocations`, `a,b,c,d\n${IRIS_ROW.join(',')}\n`, 'application/csv');
    expect(status).toBe(200);
    expect((body as { predictions: { label: number[] } }).predictions.label).toEqual([0]);
  });

  it('charset=utf-8 is accepted, in any case', async () => {
    expect(
      (await post(`${running.url}/invocations`, JSON.stringify({ inputs: [IRIS_ROW] }), 'application/json; charset=UTF-8')).status,
    ).toBe(200);
  });

  it('unknown top-level fields are refused, naming them (MLflow drops them silently)', async () => {
    const { status, body } = await post(
      `${running.url}/invocations`,
      JSON.stringify({ inputs: [IRIS_ROW], param: { a: 1 } }),
      'application/json',
    );
    expect(status).toBe(400);
    expect(body).toMatchObject({
      error_code: 'BAD_REQUEST',
      message: expect.stringContaining("Unknown top-level fields: ['param']") as string,
    });
  });

  it('a shape error says what to send (a hint, which the CLI prints after the message)', async () => {
    const { status, body } = await post(`${running.url}/invocations`, '{"inputs": [[1.5, 2.5, 3.5]]}', 'application/json');
    expect(status).toBe(400);
    expect(body).toMatchObject({
      error_code: 'INVALID_PARAMETER_VALUE',
      error_class: 'SCHEMA_ENFORCEMENT_FAILED',
      sqlstate: 'KAM01',
      hint: expect.stringMatching(/^Send an array of shape \(-1, 4\), where -1 stands for any size/) as unknown,
    });
  });

  it('a body over the limit gets 413, and the server keeps serving', async () => {
    const big = JSON.stringify({ inputs: Array.from({ length: 200 }, () => IRIS_ROW) });
    expect(big.length).toBeGreaterThan(2048);
    const { status, body } = await post(`${running.url}/invocations`, big, 'application/json');
    expect(status).toBe(413);
    expect(body).toMatchObject({ error_code: 'REQUEST_TOO_LARGE' });
    // Without a Content-Length (chunked), the limit is enforced while reading.
    const chunked = await fetch(`${running.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(big)), c.close()) }),
      duplex: 'half',
    });
    expect(chunked.status).toBe(413);
    expect((await post(`${running.url}/invocations`, JSON.stringify({ inputs: [IRIS_ROW] }), 'application/json')).status).toBe(200);
  });

  it('unknown routes get 404 and wrong methods 405, as JSON errors', async () => {
    const missing = await fetch(`${running.url}/predict`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
    const get = await fetch(`${running.url}/invocations`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(await get.json()).toMatchObject({
      error_code: 'METHOD_NOT_ALLOWED',
      message: 'Method GET is not allowed on /invocations; it takes POST',
    });
    const post = await fetch(`${running.url}/ping`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const oip = await fetch(`${running.url}/v2/models/onnx-iris/infer`);
    expect(oip.status).toBe(405);
    expect(await oip.json()).toEqual({ error: 'Method GET is not allowed on /v2/models/onnx-iris/infer; it takes POST' });
  });
});

describe('ONNX models without a signature (docs/mlflow-compatibility.md, Serving)', () => {
  it('table input to a model with several values per row in an output gives each row its values as a list (MLflow flattens every output and fails)', async () => {
    // onnx-iris without its signature: a table is fed whole, and predictions come back as records.
    const dir = path.join(tempDir('unsigned'), 'onnx-iris');
    cpSync(path.join(FIXTURE_MODELS, 'onnx-iris'), dir, { recursive: true });
    const mlmodel = path.join(dir, 'MLmodel');
    writeFileSync(mlmodel, readFileSync(mlmodel, 'utf8').replace(/^signature:\n(?: {2}.*\n| {4}.*\n)*/m, ''));
    const running = await serveFixture('onnx-iris', {}, dir);
    try {
      const { status, body } = await post(
        `${running.url}/invocations`,
        JSON.stringify({ dataframe_split: { data: [IRIS_ROW, IRIS_ROW] } }),
        'application/json',
      );
      expect(status).toBe(200);
      const predictions = (body as { predictions: { label: number; probabilities: number[] }[] }).predictions;
      expect(predictions).toHaveLength(2);
      expect(predictions[0]).toMatchObject({ label: 0 });
      expect(predictions[1]!.probabilities).toHaveLength(3);
    } finally {
      await running.server.stop();
    }
  });

  it('a list for a model with several inputs is 400 INVALID_PARAMETER_VALUE with MLflow’s message (MLflow: 500)', async () => {
    const running = await serveFixture('onnx-types');
    try {
      const { status, body } = await post(`${running.url}/invocations`, '{"inputs": [1, 2]}', 'application/json');
      expect(status).toBe(400);
      expect(body).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
      expect((body as { message: string }).message).toMatch(/^Unable to map numpy array input to the expected model input\./);
    } finally {
      await running.server.stop();
    }
  });
});

describe('Open Inference Protocol (V2) routes', () => {
  let iris: RunningServer;
  let types: RunningServer;
  beforeAll(async () => {
    iris = await serveFixture('onnx-iris', { modelName: 'iris', modelVersion: '3' });
    types = await serveFixture('onnx-types');
  });
  afterAll(async () => {
    await iris?.server.stop();
    await types?.server.stop();
  });

  const infer = (url: string, body: unknown): Promise<{ status: number; body: unknown }> =>
    post(url, JSON.stringify(body), 'application/json');

  it('server metadata, liveness and readiness', async () => {
    expect(await (await fetch(`${iris.url}/v2`)).json()).toEqual({ name: 'mldeploy', version: '0.0.0-test', extensions: [] });
    expect(await (await fetch(`${iris.url}/v2/health/live`)).json()).toEqual({ live: true });
    expect(await (await fetch(`${iris.url}/v2/health/ready`)).json()).toEqual({ ready: true });
  });

  it('model metadata and readiness, with and without the version', async () => {
    const metadata = {
      name: 'iris',
      versions: ['3'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
      ],
    };
    expect(await (await fetch(`${iris.url}/v2/models/iris`)).json()).toEqual(metadata);
    expect(await (await fetch(`${iris.url}/v2/models/iris/versions/3`)).json()).toEqual(metadata);
    expect(await (await fetch(`${iris.url}/v2/models/iris/ready`)).json()).toEqual({ name: 'iris', ready: true });
    expect(await (await fetch(`${iris.url}/v2/models/iris/versions/3/ready`)).json()).toEqual({ name: 'iris', ready: true });
  });

  it('infer with flat or nested data gives the same outputs, with shapes and datatypes', async () => {
    const flat = await infer(`${iris.url}/v2/models/iris/infer`, {
      id: 'r1',
      inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [...IRIS_ROW, 7, 3.2, 4.7, 1.4] }],
    });
    const nested = await infer(`${iris.url}/v2/models/iris/versions/3/infer`, {
      id: 'r1',
      inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP64', data: [IRIS_ROW, [7, 3.2, 4.7, 1.4]] }],
    });
    expect(flat.status).toBe(200);
    expect(flat.body).toMatchObject({
      model_name: 'iris',
      model_version: '3',
      id: 'r1',
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [2], data: [0, 1] },
        { name: 'probabilities', datatype: 'FP32', shape: [2, 3] },
      ],
    });
    expect(nested.body).toEqual(flat.body);
  });

  it('only the outputs asked for are returned', async () => {
    const { body } = await infer(`${iris.url}/v2/models/iris/infer`, {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: IRIS_ROW }],
      outputs: [{ name: 'label' }],
    });
    expect((body as { outputs: { name: string }[] }).outputs.map((o) => o.name)).toEqual(['label']);
  });

  it('BOOL, BYTES, INT32 and FP64 tensors round-trip', async () => {
    const { status, body } = await infer(`${types.url}/v2/models/onnx-types/infer`, {
      inputs: [
        { name: 'flag', shape: [2], datatype: 'BOOL', data: [true, false] },
        { name: 'text', shape: [2], datatype: 'BYTES', data: ['héllo', 'b'] },
        { name: 'count', shape: [2], datatype: 'INT32', data: [1, -5] },
        { name: 'value', shape: [2], datatype: 'FP64', data: [0.1, 2.5] },
      ],
    });
    expect(status).toBe(200);
    expect((body as { outputs: unknown[] }).outputs).toEqual([
      { name: 'not_flag', datatype: 'BOOL', shape: [2], data: [false, true] },
      { name: 'same_text', datatype: 'BYTES', shape: [2], data: ['héllo', 'b'] },
      { name: 'count_plus_one', datatype: 'INT32', shape: [2], data: [2, -4] },
      { name: 'value_doubled', datatype: 'FP64', shape: [2], data: [0.2, 5] },
    ]);
  });

  it.each([
    ['a body that is not JSON', 'nope', 400, /not valid JSON/],
    ['no inputs', {}, 400, /non-empty 'inputs' list/],
    [
      'an unknown datatype',
      { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP128', data: IRIS_ROW }] },
      400,
      /unsupported datatype "FP128"/,
    ],
    [
      'a shape that does not match the data',
      { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: IRIS_ROW }] },
      400,
      /shape \[2, 4\] needs 8 values, got 4/,
    ],
    [
      'strings in an FP32 tensor',
      { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: ['a', 'b', 'c', 'd'] }] },
      400,
      /Input input: Invalid input. could not convert string to float \(at \[0, 0\]\) \(datatype FP32\)/,
    ],
    [
      'an unknown input name',
      { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: IRIS_ROW }] },
      400,
      /Unknown input tensor\(s\) x; the model's inputs are input/,
    ],
    [
      'a shape the model does not take',
      { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
      400,
      /Shape of input input \(1, 3\) does not match the model's input shape \(-1, 4\)/,
    ],
    [
      'an unknown output',
      { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: IRIS_ROW }], outputs: [{ name: 'nope' }] },
      400,
      /Unknown output\(s\) nope/,
    ],
  ])('%s gets an {"error": …} body', async (_what, body, status, message) => {
    const response = await post(
      `${iris.url}/v2/models/iris/infer`,
      typeof body === 'string' ? body : JSON.stringify(body),
      'application/json',
    );
    expect(response.status).toBe(status);
    expect(Object.keys(response.body as object)).toEqual(['error']);
    expect((response.body as { error: string }).error).toMatch(message);
  });

  it('an unknown model or version gets 404', async () => {
    for (const route of ['/v2/models/other', '/v2/models/iris/versions/9', '/v2/models/other/infer']) {
      const response = await fetch(`${iris.url}${route}`, route.endsWith('infer') ? { method: 'POST', body: '{}' } : {});
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: expect.stringContaining('is not served here') as string });
    }
  });
});

describe('safe by default', () => {
  it('refuses to bind beyond loopback without a token', async () => {
    const model = await loadServedModel(path.join(FIXTURE_MODELS, 'onnx-iris'), { pyfunc: pyfuncOptions() });
    try {
      expect(
        () =>
          new ScoringServer(model, {
            modelName: 'm',
            host: '0.0.0.0',
            port: 0,
            maxBodyBytes: 1000,
            requestTimeoutMs: 1000,
            serverVersion: 'x',
          }),
      ).toThrow(/Refusing to serve on 0\.0\.0\.0 without a token/);
    } finally {
      await model.close();
    }
  });

  it('allowUnauthenticated binds beyond loopback without a token: every route answers without Authorization, and a token, when set, is still required', async (context) => {
    const address = nonLoopbackIPv4();
    if (address === undefined) context.skip('this machine has no non-loopback address to bind');
    const open = await serveFixture('onnx-iris', { host: address!, allowUnauthenticated: true });
    try {
      expect(new URL(open.url).hostname).toBe(address);
      expect((await fetch(`${open.url}/ping`)).status).toBe(200);
      const scored = await post(`${open.url}/invocations`, JSON.stringify({ inputs: [IRIS_ROW] }), 'application/json');
      expect(scored.status).toBe(200);
      expect((scored.body as { predictions: { label: number[] } }).predictions.label).toEqual([0]);
    } finally {
      await open.server.stop();
    }
    const guarded = await serveFixture('onnx-iris', { host: address!, allowUnauthenticated: true, token: 's3cret-token' });
    try {
      expect((await post(`${guarded.url}/invocations`, JSON.stringify({ inputs: [IRIS_ROW] }), 'application/json')).status).toBe(401);
    } finally {
      await guarded.server.stop();
    }
  });

  it('with a token, every route but the health probes needs it', async () => {
    const running = await serveFixture('onnx-iris', { token: 's3cret-token' });
    try {
      expect((await fetch(`${running.url}/ping`)).status).toBe(200);
      expect((await fetch(`${running.url}/v2/health/ready`)).status).toBe(200);
      const denied = await post(`${running.url}/invocations`, JSON.stringify({ inputs: [IRIS_ROW] }), 'application/json');
      expect(denied.status).toBe(401);
      expect(JSON.stringify(denied.body)).not.toContain('s3cret');
      expect((await fetch(`${running.url}/v2/models/onnx-iris`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const allowed = await fetch(`${running.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer s3cret-token' },
        body: JSON.stringify({ inputs: [IRIS_ROW] }),
      });
      expect(allowed.status).toBe(200);
      // Behind a proxy that consumes Authorization (the Kubernetes API server's service proxy), the token travels in X-MLDeploy-Token.
      const proxied = (token: string): Promise<Response> =>
        fetch(`${running.url}/invocations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-mldeploy-token': token },
          body: JSON.stringify({ inputs: [IRIS_ROW] }),
        });
      expect((await proxied('s3cret-token')).status).toBe(200);
      expect((await proxied('s3cret-tokeX')).status).toBe(401);
    } finally {
      await running.server.stop();
    }
  });

  it('a port already in use is a clear error', async () => {
    const first = await serveFixture('onnx-iris');
    try {
      const error = await serveFixture('onnx-iris', { port: first.server.port }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MlDeployError);
      expect((error as MlDeployError).code).toBe('RESOURCE_CONFLICT');
      expect((error as MlDeployError).message).toMatch(/Port \d+ on 127\.0\.0\.1 is already in use/);
    } finally {
      await first.server.stop();
    }
  });
});
