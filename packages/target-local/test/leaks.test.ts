import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneApi } from '../src/local-target/control-plane-api.js';
import { AggregatorRegistry } from 'prom-client';
import { GatewayMetrics } from '../src/server/gateway-metrics.js';
import { GatewayRoutes } from '../src/server/gateway-routes.js';
import type { EndpointConfig } from '../src/server/state-store.js';
import { runCli } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { IRIS, IRIS_INPUT, parseMetrics, predictVia } from './support.js';

/** Create/update/delete cycles the control plane must come out of holding what it held before. */
const CYCLES = 50;

/**
 * The gateway's routing table, changed one deployment or endpoint at a time as the control
 * plane changes its own, and pushed whole as the control plane pushes it.
 */
function routesUnderTest(): {
  routes: GatewayRoutes;
  serve: (deployment: string, revision: number | null) => void;
  route: (endpoint: string, config: EndpointConfig | null) => void;
} {
  const routes = new GatewayRoutes();
  const deployments = new Map<string, number>();
  const endpoints = new Map<string, EndpointConfig>();
  const push = (): void =>
    routes.apply({
      ready: true,
      deployments: [...deployments].map(([name, revision]) => ({
        name,
        serving: { revision, maxBodyBytes: 1024, timeoutMs: 1000, ports: [] },
      })),
      endpoints: [...endpoints].map(([name, config]) => ({ name, config })),
    });
  return {
    routes,
    serve: (deployment, revision) => {
      if (revision === null) deployments.delete(deployment);
      else deployments.set(deployment, revision);
      push();
    },
    route: (endpoint, config) => {
      if (config === null) endpoints.delete(endpoint);
      else endpoints.set(endpoint, config);
      push();
    },
  };
}

function endpoint(traffic: Record<string, number>, shadow: string | null = null): EndpointConfig {
  return { traffic, stickyHeader: null, shadow: shadow === null ? null : { deployment: shadow, percent: 100 } };
}

/** The gateway's request counts in the exposition format, as /metrics shows them. */
async function render(metrics: GatewayMetrics): Promise<string> {
  return AggregatorRegistry.aggregate([await metrics.json()]).metrics();
}

/** The request series (deployment, revision, route) on /metrics. */
async function requestSeries(metrics: GatewayMetrics): Promise<string[]> {
  const { samples } = parseMetrics(await render(metrics));
  return samples
    .filter((s) => s.name === 'mldeploy_requests_total')
    .map((s) => `${s.labels['deployment']} ${s.labels['revision']} ${s.labels['route']}`)
    .sort();
}

describe('metrics series follow what serves', () => {
  it('a revision that stops serving (update, rollback, delete) and a deleted endpoint take their series with them', async () => {
    const table = routesUnderTest();
    const metrics = new GatewayMetrics(table.routes);
    const request = (deployment: string, revision: number, route = 'direct', status = 200): void =>
      metrics.observe({ deployment, revision: String(revision), route }, status, 5);
    table.serve('a', 1);
    table.serve('b', 1);
    table.route('front', endpoint({ a: 100 }, 'b'));
    request('a', 1);
    request('a', 1, 'direct', 500);
    request('a', 1, 'endpoint:front:weighted');
    request('b', 1, 'shadow:front');
    expect(await requestSeries(metrics)).toEqual(['a 1 direct', 'a 1 endpoint:front:weighted', 'b 1 shadow:front']);

    // Update: revision 2 of a serves; every series of revision 1 (requests, errors, latency) goes.
    table.serve('a', 2);
    request('a', 2);
    expect(await requestSeries(metrics)).toEqual(['a 2 direct', 'b 1 shadow:front']);
    const text = await render(metrics);
    expect(text).not.toMatch(/revision="1",route="(direct|endpoint)/);
    expect(text).not.toMatch(/mldeploy_request_errors_total\{/);

    // The endpoint goes: its routes' series too, though both deployments still serve.
    table.route('front', null);
    expect(await requestSeries(metrics)).toEqual(['a 2 direct']);

    // Delete: nothing of the deployment is left.
    table.serve('a', null);
    expect(parseMetrics(await render(metrics)).samples.filter((s) => s.labels['deployment'] === 'a')).toEqual([]);
  });

  it('without scrapes, the series held stay bounded: a request that starts a series removes the retired ones', async () => {
    const table = routesUnderTest();
    const metrics = new GatewayMetrics(table.routes);
    for (let revision = 1; revision <= 200; revision += 1) {
      table.serve('a', revision);
      metrics.observe({ deployment: 'a', revision: String(revision), route: 'direct' }, 200, 1);
    }
    expect(await requestSeries(metrics)).toEqual(['a 200 direct']);
  });
});

/** The descriptors a process holds now. */
function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The processes whose parent is `pid` (the control plane's workers). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // The 4th field of stat, after the command in parentheses (which may hold spaces).
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // exited meanwhile
      }
    })
    .map(Number);
}

describe(`a control plane after ${CYCLES} create/update/delete cycles`, () => {
  const home = tempDir('leaks');
  let url: string;
  let pid: number;
  let api: ControlPlaneApi;
  beforeAll(async () => {
    const started = await runCli(['server', 'start', '--home', home, '--json']);
    expect(started.code, started.stderr).toBe(0);
    ({ url, pid } = JSON.parse(started.stdout) as { url: string; pid: number });
    api = new ControlPlaneApi(url, home);
  }, 120_000);
  afterAll(() => runCli(['server', 'stop', '--home', home], { timeoutMs: 90_000 }));

  /** Lines of /metrics that are samples, not comments. */
  const series = async (): Promise<number> =>
    (await (await fetch(`${url}/metrics`)).text()).split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;

  /**
   * What the control plane and the gateway process hold. Closing is asynchronous (a worker's
   * pipes and the gateway's connection to it close after it exits), so the counts are polled, to
   * a deadline.
   */
  const held = async (): Promise<{ fds: number; gatewayFds: number; series: number; workers: number }> => {
    const gateway = (JSON.parse(readFileSync(path.join(home, 'run', 'gateway.json'), 'utf8')) as { pid: number }).pid;
    return {
      fds: openFds(pid),
      gatewayFds: openFds(gateway),
      series: await series(),
      // The gateway process is a child of the control plane that started it too.
      workers: childrenOf(pid).filter((child) => child !== gateway).length,
    };
  };
  const settlesAt = (expected: Awaited<ReturnType<typeof held>>): Promise<unknown> =>
    waitFor(`descriptors, metrics series and workers back to ${JSON.stringify(expected)}`, async () => {
      const now = await held();
      return JSON.stringify(now) === JSON.stringify(expected) ? now : undefined;
    }).catch(async (error: unknown) => {
      throw new Error(`${(error as Error).message}; now ${JSON.stringify(await held())}`);
    });

  /** One cycle: create, predict directly and through an endpoint with a shadow, update, predict, delete both. */
  const cycle = async (i: number): Promise<number> => {
    const name = `cycle-${i}`;
    const created = await api.call('createDeployment', { body: { name, model_uri: IRIS, config: { replicas: 1 } } });
    expect(created.state).toBe('ready');
    expect((await predictVia(`${url}/deployments/${name}/invocations`)).status).toBe(200);
    await api.call('createEndpoint', {
      body: { name: `front-${i}`, config: { traffic: { [name]: 100 }, shadow: { deployment: 'keep', percent: 100 } } },
    });
    expect((await predictVia(`${url}/endpoints/front-${i}/invocations`, IRIS_INPUT)).status).toBe(200);
    // The mirrored copy is answered after the caller's: wait for it, so each cycle counts the same series.
    await waitFor('the shadow copy', async () =>
      (await api.call('getEndpoint', { params: { name: `front-${i}` } })).shadow_comparison?.mirrored === 1 ? true : undefined,
    );
    expect((await api.call('updateDeployment', { params: { name }, body: { config: { timeout: 30 } } })).revision).toBe(2);
    expect((await predictVia(`${url}/deployments/${name}/invocations`)).status).toBe(200);
    const during = await series();
    await api.call('deleteEndpoint', { params: { name: `front-${i}` } });
    await api.call('deleteDeployment', { params: { name } });
    return during;
  };

  it(
    'holds the same descriptors, metrics series and worker processes as before, and no log of a deleted deployment',
    async () => {
      await api.call('createDeployment', { body: { name: 'keep', model_uri: IRIS, config: { replicas: 1 } } });
      expect((await predictVia(`${url}/deployments/keep/invocations`)).status).toBe(200);
      // One cycle first: what the first use opens for good (the model cache, lazily loaded modules) is not a leak.
      await cycle(0);
      const before = await held();
      await settlesAt(before);
      expect(before.workers).toBe(1);
      const during: number[] = [];
      for (let i = 1; i <= CYCLES; i += 1) during.push(await cycle(i));
      await settlesAt(before);
      // Every cycle showed as many series as the first: none of an earlier cycle stayed.
      expect(new Set(during)).toEqual(new Set([during[0]]));
      expect(readdirSync(path.join(home, 'logs')).sort()).toEqual(['gateway.log', 'keep.log', 'server.log']);
      expect((await api.call('logs', { params: { name: 'keep' }, query: { tail: '5' } })).entries.at(-1)?.event).toBe('ready');
    },
    CYCLES * 20_000,
  );
});
