import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_MODELS, CLI_BIN, REPO_ROOT } from '../../../test/support/paths.js';
import { cleanEnv, runCli } from '../../../test/support/run-cli.js';
import { freePort } from '../../../test/support/mlflow-scoring-server.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { tempDir, tempFile } from '../../../test/support/temp.js';
import { IRIS, IRIS_INPUT, describeFailure, localHome, parseMetrics, predictVia, samplesOf } from './support.js';

interface DeploymentView {
  name: string;
  flavor: string;
  model_uri: string;
  revision: number;
  state: string;
  url: string;
  gateway_url: string;
  config: { port: number };
  replicas: number;
  live_replicas: number;
  restarts: number;
  workers: { pid: number; port: number }[];
  created_at: string;
  updated_at: string;
}

function inputFile(body: unknown = IRIS_INPUT): string {
  return tempFile('in.json', JSON.stringify(body));
}

function brokenModel(): string {
  const dir = path.join(tempDir('broken'), 'model');
  cpSync(IRIS, dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.onnx'), 'not onnx');
  return dir;
}

describe('local target lifecycle through the CLI', () => {
  const local = localHome('lifecycle');
  // One deployment every test may read (never change); tests that change things make their own.
  beforeAll(async () => {
    const create = await local.cli('create', '--name', 'iris', '-m', IRIS);
    expect(create.code, create.stderr).toBe(0);
    await predictVia(`${local.gateway()}/deployments/iris/invocations`);
  }, 120_000);
  afterAll(async () => {
    await local.stop();
  });

  it('create blocks until it serves, then get shows the deployment; predict goes through the gateway', async () => {
    const create = await local.cli('create', '--name', 'first', '-m', IRIS);
    expect(create.code, create.stderr).toBe(0);
    expect(create.stdout).toBe('onnx deployment first is created\n');
    const got = await local.json<DeploymentView>('get', '--name', 'first');
    expect(got).toMatchObject({
      name: 'first',
      flavor: 'onnx',
      model_uri: IRIS,
      revision: 1,
      state: 'ready',
      replicas: 1,
      live_replicas: 1,
    });
    // Its own port, answered by its replicas; the gateway path stays for callers of the control plane's port.
    expect(got.url).toBe(`http://127.0.0.1:${got.config.port}/invocations`);
    expect(got.gateway_url).toBe(`${local.gateway()}/deployments/first/invocations`);
    expect((await predictVia(got.gateway_url)).route).toBe('direct');
    expect(Date.parse(got.created_at)).not.toBeNaN();
    const predicted = await local.cli('predict', '--name', 'first', '-I', inputFile());
    expect(JSON.parse(predicted.stdout)).toMatchObject({ predictions: { label: [0] } });
    const direct = await predictVia(got.url);
    expect(direct).toMatchObject({ status: 200, deployment: 'first', revision: '1', route: 'direct' });
  });

  it('update switches to a new revision with zero failed requests under load; history and rollback', async () => {
    await local.cli('create', '--name', 'swap', '-m', IRIS);
    const { url } = await local.json<DeploymentView>('get', '--name', 'swap');
    let stop = false;
    const seen = new Set<string>();
    const failures: unknown[] = [];
    const load = (async () => {
      while (!stop) {
        const r = await predictVia(url).catch((e: unknown) => ({ status: 0, body: describeFailure(e), revision: null }));
        if (r.status !== 200) failures.push(r.body);
        else seen.add(r.revision!);
      }
    })();
    try {
      for (const replicas of ['2', '1', '2']) {
        const update = await local.cli('update', '--name', 'swap', '-C', `replicas=${replicas}`);
        expect(update.code, update.stderr).toBe(0);
      }
    } finally {
      stop = true;
      await load;
    }
    expect(failures).toEqual([]);
    expect(seen.has('1') && seen.has('4')).toBe(true);
    const history = await local.json<{ revision: number; reason: string; current: boolean }[]>('history', '--name', 'swap');
    expect(history.map((r) => [r.revision, r.reason, r.current])).toEqual([
      [1, 'create', false],
      [2, 'update', false],
      [3, 'update', false],
      [4, 'update', true],
    ]);
    const rolled = await local.cli('rollback', '--name', 'swap', '--to-revision', '2');
    expect(rolled.stdout).toMatch(/Deployment swap rolled back: now serving revision 5/);
    expect(await local.json<DeploymentView>('get', '--name', 'swap')).toMatchObject({ revision: 5, replicas: 2, live_replicas: 2 });
    expect((await local.json<{ reason: string }[]>('history', '--name', 'swap')).at(-1)?.reason).toBe('rollback to 2');
  });

  it('a failed update leaves the old revision serving and records nothing', async () => {
    await local.cli('create', '--name', 'steady', '-m', IRIS);
    const before = await local.json<DeploymentView>('get', '--name', 'steady');
    const update = await local.cli('update', '--name', 'steady', '-m', brokenModel());
    expect(update.code).toBe(1);
    expect(update.stderr).toMatch(
      /Revision 2 of "steady" did not become ready, so the current one keeps serving: onnxruntime could not load/,
    );
    const after = await local.json<DeploymentView>('get', '--name', 'steady');
    expect(after).toMatchObject({ revision: 1, state: 'ready', model_uri: IRIS });
    expect(after.workers).toEqual(before.workers);
    expect((await predictVia(after.url)).status).toBe(200);
    expect(await local.json<unknown[]>('history', '--name', 'steady')).toHaveLength(1);
  });

  it('bad input gets a clear error and changes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['get', '--name', 'nope'], /RESOURCE_DOES_NOT_EXIST: Deployment "nope" does not exist on the local target/],
      [['update', '--name', 'nope', '-C', 'replicas=2'], /RESOURCE_DOES_NOT_EXIST/],
      [['rollback', '--name', 'nope'], /RESOURCE_DOES_NOT_EXIST/],
      [['rollback', '--name', 'iris', '--to-revision', '9'], /Deployment "iris" has no revision 9/],
      [['create', '--name', 'iris', '-m', IRIS], /RESOURCE_ALREADY_EXISTS: Deployment "iris" already exists/],
      [['create', '--name', 'bad', '-m', '/no/such/model'], /Could not load model \/no\/such\/model \(step: resolve\)/],
      [['create', '--name', 'bad', '-m', 'models:/iris/1'], /needs an MLflow registry server/],
      [['create', '--name', 'bad', '-m', brokenModel()], /did not become ready, nothing was created: onnxruntime could not load/],
      [
        ['create', '--name', 'bad', '-m', IRIS, '-C', 'replicas=0'],
        /INVALID_PARAMETER_VALUE: Invalid config for the local target: replicas/,
      ],
      [['create', '--name', 'bad', '-m', IRIS, '-C', 'colour=blue'], /Invalid config for the local target: .*colour/],
      [['create', '--name', 'bad', '-m', IRIS, '-f', 'keras'], /Flavor "keras" cannot be served/],
      [['create', '--name', '../x', '-m', IRIS], /Invalid deployment name "\.\.\/x"/],
      [['create-endpoint', '--endpoint', 'ep', '-C', 'traffic={"iris": 60}'], /weights sum to 60; they must sum to 100/],
      [['create-endpoint', '--endpoint', 'ep', '-C', 'traffic={"iris": 50, "ghost": 50}'], /names deployments that do not exist: ghost/],
      [['create-endpoint', '--endpoint', 'ep'], /An endpoint needs a traffic split/],
      [['update-endpoint', '--endpoint', 'nope', '-C', 'traffic={"iris": 100}'], /Endpoint "nope" does not exist/],
    ];
    for (const [args, message] of cases) {
      const result = await local.cli(...args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(1);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
    const names = (await local.json<DeploymentView[]>('list')).map((d) => d.name);
    expect(names).not.toContain('bad');
    expect(await local.json<unknown[]>('list-endpoints')).toEqual([]);
    expect((await local.json<DeploymentView>('get', '--name', 'iris')).revision).toBe(1);
  });

  it('a second control plane on the same home is refused', async () => {
    const second = await runCli(['server', 'run', '--home', local.home]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/RESOURCE_CONFLICT: A control plane for .* is already running \(pid \d+\)/);
    expect((await local.json<DeploymentView>('get', '--name', 'iris')).state).toBe('ready');
  });

  it('delete stops the workers and frees their ports; a second delete succeeds', async () => {
    await local.cli('create', '--name', 'gone', '-m', IRIS, '-C', 'replicas=2');
    const { workers } = await local.json<DeploymentView>('get', '--name', 'gone');
    expect(workers).toHaveLength(2);
    expect((await local.cli('delete', '--name', 'gone')).stdout).toBe('Deployment gone is deleted\n');
    for (const { port } of workers) expect(await fetch(`http://127.0.0.1:${port}/ping`).catch(() => 'refused')).toBe('refused');
    expect((await local.cli('delete', '--name', 'gone')).code).toBe(0);
    expect((await local.cli('get', '--name', 'gone')).code).toBe(1);
  });

  it('logs shows the workers’ structured log records', async () => {
    const logs = await local.cli('logs', '--name', 'iris', '--tail', '5');
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/\[iris rev 1 replica 0\] ready: serving on port \d+/);
    const entries = await local.json<
      { time: string; level: string; deployment: string; revision: number; replica: number; event: string; message: string }[]
    >('logs', '--name', 'iris');
    expect(entries.find((e) => e.event === 'ready')).toMatchObject({
      level: 'info',
      deployment: 'iris',
      revision: 1,
      replica: 0,
      message: expect.stringMatching(/^serving on port \d+$/) as string,
    });
    expect(Date.parse(entries[0]!.time)).not.toBeNaN();
  });

  it('metrics count requests per deployment, revision and route, on its own port as through the gateway', async () => {
    const { url } = await local.json<DeploymentView>('get', '--name', 'iris');
    for (let i = 0; i < 3; i += 1) expect((await predictVia(url)).status).toBe(200);
    expect((await predictVia(url, { inputs: 'not a table' })).status).toBe(400);
    const response = await fetch(`${local.gateway()}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    // Parsed, not matched as text: Prometheus gives label order no meaning (prom-client puts le first).
    const { samples, types } = parseMetrics(await response.text());
    const direct = { deployment: 'iris', revision: '1', route: 'direct' };
    expect(samplesOf(samples, 'mldeploy_requests_total', direct)).toEqual([
      { name: 'mldeploy_requests_total', labels: direct, value: expect.any(Number) as number },
    ]);
    expect(samplesOf(samples, 'mldeploy_requests_total', direct)[0]!.value).toBeGreaterThanOrEqual(1);
    expect(samplesOf(samples, 'mldeploy_request_duration_seconds_bucket', { ...direct, le: '+Inf' })).toHaveLength(1);
    expect(Number.isInteger(samplesOf(samples, 'mldeploy_request_duration_seconds_bucket', { ...direct, le: '+Inf' })[0]!.value)).toBe(
      true,
    );
    // The worker counts what reaches the deployment's own port; /metrics adds it in.
    const port = { deployment: 'iris', revision: '1', route: 'port' };
    expect(samplesOf(samples, 'mldeploy_requests_total', port)[0]?.value).toBeGreaterThanOrEqual(4);
    expect(samplesOf(samples, 'mldeploy_request_errors_total', { ...port, status: '400' })[0]?.value).toBeGreaterThanOrEqual(1);
    expect(samplesOf(samples, 'mldeploy_request_duration_seconds_count', port)[0]?.value).toBeGreaterThanOrEqual(4);
    expect(samplesOf(samples, 'mldeploy_deployment_live_replicas', { deployment: 'iris', revision: '1' })).toEqual([
      { name: 'mldeploy_deployment_live_replicas', labels: { deployment: 'iris', revision: '1' }, value: 1 },
    ]);
    // Every metric dashboards read today is there, with its type.
    expect(Object.fromEntries(types)).toEqual({
      mldeploy_requests_total: 'counter',
      mldeploy_request_errors_total: 'counter',
      mldeploy_request_duration_seconds: 'histogram',
      mldeploy_deployment_live_replicas: 'gauge',
      mldeploy_deployment_restarts: 'gauge',
      mldeploy_shadow_mirrored_total: 'gauge',
      mldeploy_shadow_agreement_ratio: 'gauge',
    });
  });

  it('the gateway answers bad requests with JSON errors and keeps serving', async () => {
    const base = local.gateway();
    const wrongMethod = await fetch(`${base}/deployments/iris/invocations`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(await wrongMethod.json()).toMatchObject({ error_code: 'METHOD_NOT_ALLOWED' });
    const unknown = await predictVia(`${base}/deployments/nope/invocations`);
    expect(unknown).toMatchObject({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
    const unknownEndpoint = await predictVia(`${base}/endpoints/nope/invocations`);
    expect(unknownEndpoint).toMatchObject({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Endpoint "nope" does not exist on the local target' },
    });
    const malformed = await fetch(`${base}/deployments/iris/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"inputs": [1,',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('x-mldeploy-deployment')).toBe('iris');
    expect(await malformed.json()).toMatchObject({ error_code: 'BAD_REQUEST' });
    const noType = await fetch(`${base}/deployments/iris/invocations`, { method: 'POST', body: JSON.stringify(IRIS_INPUT) });
    expect(noType.status).toBe(415);
    expect((await predictVia(`${base}/deployments/iris/invocations`)).status).toBe(200);
  });

  it('the Open Inference Protocol works per deployment through the gateway', async () => {
    const infer = await fetch(`${local.gateway()}/v2/models/iris/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }),
    });
    expect(infer.status).toBe(200);
    expect(infer.headers.get('x-mldeploy-deployment')).toBe('iris');
    expect(await infer.json()).toMatchObject({ model_name: 'iris', outputs: [{ name: 'label', data: [0] }, { name: 'probabilities' }] });
    expect((await fetch(`${local.gateway()}/v2/models/nope`)).status).toBe(404);
  });
});

describe('endpoints: traffic splits, pinning, sticky routing and shadows', () => {
  const local = localHome('endpoints');
  beforeAll(async () => {
    for (const name of ['blue', 'green', 'shadow']) expect((await local.cli('create', '--name', name, '-m', IRIS)).code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await local.stop();
  });

  it('weights split traffic; update-endpoint moves it (a canary by hand)', async () => {
    expect((await local.cli('create-endpoint', '--endpoint', 'iris', '-C', 'traffic={"blue": 50, "green": 50}')).stdout).toBe(
      'Endpoint iris is created\n',
    );
    const url = `${local.gateway()}/endpoints/iris/invocations`;
    const counts: Record<string, number> = {};
    for (let i = 0; i < 200; i += 1) {
      const r = await predictVia(url);
      expect(r.route).toBe('endpoint:iris:weighted');
      counts[r.deployment!] = (counts[r.deployment!] ?? 0) + 1;
    }
    // 200 draws at 50/50: each side gets between 60 and 140 with probability far above 1 - 1e-6.
    expect(counts['blue']).toBeGreaterThan(60);
    expect(counts['green']).toBeGreaterThan(60);
    await local.cli('update-endpoint', '--endpoint', 'iris', '-C', 'traffic={"blue": 0, "green": 100}');
    for (let i = 0; i < 20; i += 1) expect((await predictVia(url)).deployment).toBe('green');
    expect((await local.json<{ traffic: unknown }>('get-endpoint', '--endpoint', 'iris')).traffic).toEqual({ blue: 0, green: 100 });
  });

  it('a header pins a request to one deployment; a pin outside the endpoint is refused', async () => {
    const url = `${local.gateway()}/endpoints/iris/invocations`;
    const pinned = await predictVia(url, IRIS_INPUT, { 'x-mldeploy-deployment': 'blue' });
    expect(pinned).toMatchObject({ status: 200, deployment: 'blue', route: 'endpoint:iris:pinned' });
    const outside = await predictVia(url, IRIS_INPUT, { 'x-mldeploy-deployment': 'shadow' });
    expect(outside.status).toBe(400);
    expect(outside.body).toMatchObject({
      error_code: 'BAD_REQUEST',
      message: expect.stringContaining('is not a deployment of endpoint "iris"') as string,
    });
  });

  it('a sticky header keeps one caller on one side of the split', async () => {
    await local.cli('update-endpoint', '--endpoint', 'iris', '-C', 'traffic={"blue": 50, "green": 50}', '-C', 'sticky_header=x-user');
    const url = `${local.gateway()}/endpoints/iris/invocations`;
    const sides = new Set<string>();
    for (let user = 0; user < 20; user += 1) {
      const first = await predictVia(url, IRIS_INPUT, { 'x-user': `user-${user}` });
      expect(first.route).toBe('endpoint:iris:sticky');
      for (let i = 0; i < 4; i += 1)
        expect((await predictVia(url, IRIS_INPUT, { 'x-user': `user-${user}` })).deployment).toBe(first.deployment);
      sides.add(first.deployment!);
    }
    expect(sides.size).toBe(2);
  });

  it('a shadow gets a copy of the traffic; callers never see it; get-endpoint compares answers', async () => {
    await local.cli(
      'update-endpoint',
      '--endpoint',
      'iris',
      '-C',
      'shadow={"deployment": "shadow", "percent": 100}',
      '-C',
      'sticky_header=none',
    );
    const url = `${local.gateway()}/endpoints/iris/invocations`;
    for (let i = 0; i < 30; i += 1) expect((await predictVia(url)).deployment).not.toBe('shadow');
    const view = await waitFor('30 mirrored requests', async () => {
      const v = await local.json<{
        shadow_comparison: { mirrored: number; agreement_rate: number; max_abs_difference: number; errors: number };
      }>('get-endpoint', '--endpoint', 'iris');
      return v.shadow_comparison.mirrored >= 30 ? v : undefined;
    });
    expect(view.shadow_comparison).toMatchObject({ mirrored: 30, errors: 0, agreement_rate: 1, max_abs_difference: 0 });
    const metrics = await (await fetch(`${local.gateway()}/metrics`)).text();
    expect(metrics).toMatch(/mldeploy_shadow_agreement_ratio\{endpoint="iris",shadow="shadow"\} 1/);
    const inUse = await local.cli('delete', '--name', 'shadow');
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(/RESOURCE_CONFLICT: Deployment "shadow" receives traffic from endpoint\(s\) iris/);
  });
});

describe('keeping it running', () => {
  const local = localHome('faults');
  afterAll(async () => {
    await local.stop();
  });

  it('a crashed worker is restarted; with two replicas, the gateway retries requests in flight on the other', async () => {
    await local.cli('create', '--name', 'tough', '-m', IRIS, '-C', 'replicas=2');
    const before = await local.json<DeploymentView>('get', '--name', 'tough');
    let stop = false;
    const failures: unknown[] = [];
    const load = (async () => {
      while (!stop) {
        // The gateway, not the deployment's own port: only a proxy can replay a request whose replica died under it.
        const r = await predictVia(before.gateway_url).catch((e: unknown) => ({ status: 0, body: describeFailure(e) }));
        if (r.status !== 200) failures.push(r.body);
      }
    })();
    try {
      process.kill(before.workers[0]!.pid, 'SIGKILL');
      const after = await waitFor('the replica to be restarted', async () => {
        const view = await local.json<DeploymentView>('get', '--name', 'tough');
        return view.restarts >= 1 && view.live_replicas === 2 ? view : undefined;
      });
      expect(after.workers.map((w) => w.pid)).not.toContain(before.workers[0]!.pid);
    } finally {
      stop = true;
      await load;
    }
    expect(failures).toEqual([]);
    const logs = await local.json<{ level: string; event: string; replica: number }[]>('logs', '--name', 'tough');
    expect(logs.find((e) => e.event === 'crashed')).toMatchObject({ level: 'error', replica: 0 });
  });

  it('a control plane killed in the middle of an update restarts consistent: the recorded revision serves', async () => {
    await local.cli('create', '--name', 'midway', '-m', IRIS);
    const { pid } = JSON.parse((await runCli(['server', 'status', '--home', local.home, '--json'])).stdout) as { pid: number };
    const update = runCli(['update', '-t', local.target, '--name', 'midway', '-C', 'replicas=3']);
    // Kill once the new revision's workers are starting, before the switch can complete.
    // Its children: the workers, and the gateway process it started.
    await waitFor('new workers to start', () => (childrenOf(pid) > 4 ? true : undefined));
    process.kill(pid, 'SIGKILL');
    expect((await update).code).toBe(1);
    const predicted = await local.cli('predict', '--name', 'midway', '-I', inputFile());
    expect(predicted.code, predicted.stderr).toBe(0);
    const view = await local.json<DeploymentView>('get', '--name', 'midway');
    const history = await local.json<{ revision: number; config: { replicas: number } }[]>('history', '--name', 'midway');
    expect(view.revision).toBe(history.at(-1)!.revision);
    expect(view).toMatchObject({ state: 'ready', live_replicas: history.at(-1)!.config.replicas });
  });

  it('a control plane killed with SIGKILL comes back with every deployment and endpoint on next use', async () => {
    await local.cli('create', '--name', 'phoenix', '-m', IRIS);
    await local.cli('create-endpoint', '--endpoint', 'front', '-C', 'traffic={"phoenix": 100}');
    const { pid } = JSON.parse((await runCli(['server', 'status', '--home', local.home, '--json'])).stdout) as { pid: number };
    process.kill(pid, 'SIGKILL');
    await waitFor('the control plane to be gone', () => (!existsSync(`/proc/${pid}`) || readState(pid) === 'Z' ? true : undefined));
    const predicted = await local.cli('predict', '--endpoint', 'front', '-I', inputFile());
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(JSON.parse(predicted.stdout)).toMatchObject({ predictions: { label: [0] } });
    const list = await local.json<DeploymentView[]>('list');
    expect(list.map((d) => d.name)).toContain('phoenix');
    expect(list.filter((d) => d.state !== 'ready')).toEqual([]);
    expect((await local.json<{ name: string }[]>('list-endpoints')).map((e) => e.name)).toEqual(['front']);
  });
});

/** How many child processes `pid` has (its workers). */
function childrenOf(pid: number): number {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((p) => p !== '').length;
  } catch {
    return 0;
  }
}

function readState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return 'gone';
  }
}

describe('run-local', () => {
  it('serves one model in the foreground until interrupted', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [CLI_BIN, 'run-local', '-t', 'local', '--name', 'iris', '-m', path.join(FIXTURE_MODELS, 'onnx-iris'), '-C', `port=${port}`],
      { cwd: REPO_ROOT, env: cleanEnv(), stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor('run-local to serve', async () =>
        (await fetch(`http://127.0.0.1:${port}/ping`).catch(() => undefined))?.status === 200 ? true : undefined,
      );
      expect((await predictVia(`http://127.0.0.1:${port}/invocations`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/v2/models/iris`)).status).toBe(200);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });
});
