import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/support/run-cli.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { IRIS, describeFailure, localHome, predictVia } from './support.js';

interface DeploymentView {
  url: string;
  gateway_url: string;
  state: string;
  live_replicas: number;
  restarts: number;
  workers: { pid: number; port: number }[];
  config: { port: number };
}

/** Whether a process runs (a zombie does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
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
      await waitFor('the control plane to be gone', () => (running(pid) ? undefined : true));
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
    await waitFor('the old workers to stop', () => (restarted.workers.every((w) => !running(w.pid)) ? true : undefined));
    expect((await predictVia(before.url)).revision).toBe('2');
  });

  it('a graceful stop stops every worker and leaves no registry entry behind', async () => {
    const view = await local.json<DeploymentView>('get', '--name', 'steady');
    const registry = path.join(local.home, 'run', 'workers');
    expect(readdirSync(registry)).toHaveLength(1);
    expect((await runCli(['server', 'stop', '--home', local.home])).code).toBe(0);
    await waitFor('the workers to stop with the control plane', () => (view.workers.every((w) => !running(w.pid)) ? true : undefined));
    expect(existsSync(registry) ? readdirSync(registry) : []).toEqual([]);
  });
});
