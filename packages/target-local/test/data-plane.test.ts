import { fork } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/support/run-cli.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { isRunning } from '../../../test/support/processes.js';
import { IRIS, describeFailure, localHome, predictVia } from './support.js';

/** The built worker entry point, as the control plane forks it. */
const WORKER_MAIN = fileURLToPath(new URL('../dist/server/worker-main.js', import.meta.url));

interface DeploymentView {
  url: string;
  gateway_url: string;
  state: string;
  live_replicas: number;
  restarts: number;
  workers: { pid: number; port: number }[];
  config: { port: number };
}

/** The gateway process recorded in the home. */
function gatewayRecord(home: string): { pid: number; started: string | null; port: number } {
  return JSON.parse(readFileSync(path.join(home, 'run', 'gateway.json'), 'utf8')) as { pid: number; started: string | null; port: number };
}

/** Closed-loop load on `url` from `clients` callers until stopped; every answer that is not a 200 is kept. */
function loadOn(url: string, clients: number): { stop: () => Promise<{ ok: number; failures: string[] }> } {
  let stopped = false;
  let ok = 0;
  const failures: string[] = [];
  const runs = Array.from({ length: clients }, async () => {
    while (!stopped) {
      const answer = await predictVia(url).catch((error: unknown) => ({ status: 0, body: describeFailure(error) }));
      if (answer.status === 200) ok += 1;
      else failures.push(`${answer.status} ${JSON.stringify(answer.body)}`);
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(runs);
      return { ok, failures };
    },
  };
}

describe('the data plane outlives the control plane', () => {
  const local = localHome('data-plane');
  afterAll(async () => {
    await local.stop();
  });

  it('SIGKILL of the control plane under load fails no request to a deployment; the next command adopts its workers', async () => {
    expect((await local.cli('create', '--name', 'steady', '-m', IRIS, '-C', 'replicas=2')).code).toBe(0);
    const before = await local.json<DeploymentView>('get', '--name', 'steady');
    expect(before.url).toBe(`http://127.0.0.1:${before.config.port}/invocations`);
    const { pid } = JSON.parse((await runCli(['server', 'status', '--home', local.home, '--json'])).stdout) as { pid: number };
    const load = loadOn(before.url, 4);
    let served: { ok: number; failures: string[] };
    try {
      // Some answers before, during and after the kill.
      await waitFor('load to run', async () => ((await predictVia(before.url)).status === 200 ? true : undefined));
      process.kill(pid, 'SIGKILL');
      await waitFor('the control plane to be gone', () => (isRunning(pid) ? undefined : true));
      // With no control plane at all, the deployment still answers.
      expect(await predictVia(before.url)).toMatchObject({ status: 200, deployment: 'steady', revision: '1', route: 'direct' });
      const after = await local.json<DeploymentView>('get', '--name', 'steady');
      expect(after).toMatchObject({ state: 'ready', live_replicas: 2, url: before.url });
      expect(after.workers.map((w) => w.pid).sort()).toEqual(before.workers.map((w) => w.pid).sort());
    } finally {
      served = await load.stop();
    }
    expect(served.failures).toEqual([]);
    expect(served.ok).toBeGreaterThan(0);
    // What the workers logged while no control plane listened reaches the deployment's log (each reconnects on its own schedule).
    await waitFor('both workers to deliver what they logged meanwhile', async () => {
      const logs = await local.json<{ event: string; message: string }[]>('logs', '--name', 'steady', '--tail', '50');
      return logs.filter((r) => r.event === 'orphaned').length === 2 ? true : undefined;
    });
  });

  it('an adopted worker that crashes is restarted; an update replaces adopted workers', async () => {
    const before = await local.json<DeploymentView>('get', '--name', 'steady');
    process.kill(before.workers[0]!.pid, 'SIGKILL');
    const restarted = await waitFor('the crashed adopted replica to be restarted', async () => {
      const view = await local.json<DeploymentView>('get', '--name', 'steady');
      return view.live_replicas === 2 && view.restarts >= 1 ? view : undefined;
    });
    expect(restarted.workers.map((w) => w.pid)).not.toContain(before.workers[0]!.pid);
    expect((await local.cli('update', '--name', 'steady', '-C', 'replicas=1')).code).toBe(0);
    await waitFor('the old workers to stop', () => (restarted.workers.every((w) => !isRunning(w.pid)) ? true : undefined));
    expect((await predictVia(before.url)).revision).toBe('2');
  });

  it('SIGKILL of the control plane under load fails no request to an endpoint or a gateway path; the next command adopts the gateway too', async () => {
    expect((await local.cli('create', '--name', 'other', '-m', IRIS)).code).toBe(0);
    const split = await local.cli('create-endpoint', '--endpoint', 'front', '-C', 'traffic={"steady": 50, "other": 50}');
    expect(split.code, split.stderr).toBe(0);
    const base = local.gateway();
    const gatewayBefore = gatewayRecord(local.home);
    const workersBefore = [
      ...(await local.json<DeploymentView>('get', '--name', 'steady')).workers,
      ...(await local.json<DeploymentView>('get', '--name', 'other')).workers,
    ].map((w) => w.pid);
    const { pid } = JSON.parse((await runCli(['server', 'status', '--home', local.home, '--json'])).stdout) as { pid: number };
    const endpointLoad = loadOn(`${base}/endpoints/front/invocations`, 2);
    const pathLoad = loadOn(`${base}/deployments/steady/invocations`, 2);
    let endpointServed: { ok: number; failures: string[] };
    let pathServed: { ok: number; failures: string[] };
    try {
      await waitFor('load to run', async () =>
        (await predictVia(`${base}/endpoints/front/invocations`)).status === 200 ? true : undefined,
      );
      process.kill(pid, 'SIGKILL');
      await waitFor('the control plane to be gone', () => (isRunning(pid) ? undefined : true));
      // With no control plane at all, the endpoint still splits its traffic, and the API says why it does not answer.
      const seen = new Set<string | null>();
      await waitFor('both sides of the split to answer', async () => {
        const answer = await predictVia(`${base}/endpoints/front/invocations`);
        expect(answer.status).toBe(200);
        seen.add(answer.deployment);
        return seen.size === 2 ? true : undefined;
      });
      const api = await fetch(`${base}/api/v1/deployments`);
      expect(api.status).toBe(503);
      expect(await api.json()).toMatchObject({
        error_code: 'TEMPORARILY_UNAVAILABLE',
        message: `No control plane is running for ${local.home}; deployments and endpoints go on serving`,
      });
      // The next command starts a control plane, which adopts the gateway and the workers: the same processes.
      const endpoint = await local.json<{ traffic: Record<string, number> }>('get-endpoint', '--endpoint', 'front');
      expect(endpoint.traffic).toEqual({ steady: 50, other: 50 });
      expect(gatewayRecord(local.home)).toEqual(gatewayBefore);
      const workersAfter = [
        ...(await local.json<DeploymentView>('get', '--name', 'steady')).workers,
        ...(await local.json<DeploymentView>('get', '--name', 'other')).workers,
      ].map((w) => w.pid);
      expect(workersAfter.sort()).toEqual(workersBefore.sort());
    } finally {
      endpointServed = await endpointLoad.stop();
      pathServed = await pathLoad.stop();
    }
    expect(endpointServed.failures).toEqual([]);
    expect(pathServed.failures).toEqual([]);
    expect(endpointServed.ok).toBeGreaterThan(0);
    expect(pathServed.ok).toBeGreaterThan(0);
    expect(isRunning(gatewayBefore.pid)).toBe(true);

    // The adopted gateway takes changes: the whole split moves to "other".
    expect((await local.cli('update-endpoint', '--endpoint', 'front', '-C', 'traffic={"steady": 0, "other": 100}')).code).toBe(0);
    for (let i = 0; i < 10; i += 1) expect((await predictVia(`${base}/endpoints/front/invocations`)).deployment).toBe('other');
    expect((await local.cli('delete-endpoint', '--endpoint', 'front')).code).toBe(0);
    expect((await local.cli('delete', '--name', 'other')).code).toBe(0);
  });

  it('a gateway process that dies is started again by its control plane on the same port', async () => {
    const base = local.gateway();
    const before = gatewayRecord(local.home);
    process.kill(before.pid, 'SIGKILL');
    const after = await waitFor('another gateway process', () => {
      const now = gatewayRecord(local.home);
      return now.pid !== before.pid ? now : undefined;
    });
    expect(after.port).toBe(before.port);
    await waitFor('the gateway path to answer again', async () =>
      (await predictVia(`${base}/deployments/steady/invocations`).catch(() => ({ status: 0 }))).status === 200 ? true : undefined,
    );
    expect((await local.json<DeploymentView>('get', '--name', 'steady')).state).toBe('ready');
  });

  it('a graceful stop stops every worker and the gateway, and leaves no registry entry behind', async () => {
    const view = await local.json<DeploymentView>('get', '--name', 'steady');
    const gateway = gatewayRecord(local.home);
    const registry = path.join(local.home, 'run', 'workers');
    expect(readdirSync(registry)).toHaveLength(1);
    expect((await runCli(['server', 'stop', '--home', local.home])).code).toBe(0);
    await waitFor('the workers to stop with the control plane', () => (view.workers.every((w) => !isRunning(w.pid)) ? true : undefined));
    expect(isRunning(gateway.pid)).toBe(false);
    expect(existsSync(registry) ? readdirSync(registry) : []).toEqual([]);
    expect(existsSync(path.join(local.home, 'run', 'gateway.json'))).toBe(false);
    expect(await fetch(`${local.gateway()}/api/v1/health`).catch(() => 'refused')).toBe('refused');
  });
});

describe('a worker whose control plane dies the moment it reports ready', () => {
  const local = localHome('ready-race');
  afterAll(async () => {
    await local.stop();
  });

  it('has recorded itself already, so the next control plane finds it and stops it', async () => {
    // The worker as a control plane starts it; the test plays the control plane, and dies (disconnects) on `ready`.
    const spec = {
      modelDir: IRIS,
      flavor: 'onnx',
      name: 'orphan',
      revision: 1,
      replica: 0,
      logSocket: path.join(local.home, 'run', 'logs.sock'),
      home: local.home,
      requestTimeoutMs: 60_000,
      maxBodyBytes: 1_000_000,
      mlflowCommand: 'mlflow',
      serverVersion: 'test',
    };
    const worker = fork(WORKER_MAIN, [JSON.stringify(spec)], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], detached: true });
    const registry = path.join(local.home, 'run', 'workers');
    const recordedAtReady = await new Promise<string[]>((resolve, reject) => {
      worker.once('message', () => {
        const entries = existsSync(registry) ? readdirSync(registry) : [];
        worker.disconnect();
        resolve(entries);
      });
      worker.once('exit', (code) => reject(new Error(`the worker exited (${code}) before it was ready`)));
    });
    expect(recordedAtReady).toEqual([`orphan.1.0.${worker.pid}.json`]);
    expect(isRunning(worker.pid!)).toBe(true);
    // The next control plane knows no deployment "orphan": it stops the worker and forgets it.
    const started = await runCli(['server', 'start', '--home', local.home]);
    expect(started.code, started.stderr).toBe(0);
    await waitFor('the orphaned worker to be stopped', () => (isRunning(worker.pid!) ? undefined : true));
    expect(readdirSync(registry)).toEqual([]);
  });
});
