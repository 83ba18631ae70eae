import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { MetricsJson } from '../src/server/gateway-metrics.js';
import { DEFAULT_SESSION_LIMITS, DashboardSessions } from '../src/server/dashboard/dashboard-sessions.js';
import { RequestSeries } from '../src/server/dashboard/request-series.js';
import { RequestMetrics } from '../src/server/request-metrics.js';

describe('dashboard sign-in: one-time codes and idle sessions', () => {
  it('a code signs in once, before it expires; a session lasts while used, and ends after its idle time', () => {
    let now = 1_000_000;
    const sessions = new DashboardSessions({ ...DEFAULT_SESSION_LIMITS, codeTtlMs: 1000, sessionIdleMs: 5000 }, () => now);
    const { code } = sessions.issueCode('alice');
    const session = sessions.redeem(code)!;
    expect(session).toMatchObject({ actor: 'alice' });
    expect(session.id).not.toBe(code);
    expect(sessions.redeem(code)).toBeUndefined();
    const late = sessions.issueCode('alice').code;
    now += 1001;
    expect(sessions.redeem(late)).toBeUndefined();
    expect(sessions.session(session.id)).toBe(session);
    now += 4999;
    expect(sessions.session(session.id)).toBe(session);
    // Looking without using (an open event stream) does not keep it.
    now += 4999;
    expect(sessions.peek(session.id)).toBe(session);
    now += 1;
    expect(sessions.peek(session.id)).toBeUndefined();
    expect(sessions.session(session.id)).toBeUndefined();
    expect(sessions.session(undefined)).toBeUndefined();
  });

  it('ends a session used all the time at its longest lifetime', () => {
    let now = 0;
    const sessions = new DashboardSessions({ ...DEFAULT_SESSION_LIMITS, sessionIdleMs: 1000, sessionMaxMs: 3000 }, () => now);
    const session = sessions.redeem(sessions.issueCode('alice').code)!;
    for (now = 500; now < 3000; now += 500) expect(sessions.session(session.id)).toBe(session);
    now = 3000;
    expect(sessions.session(session.id)).toBeUndefined();
  });

  it('page keys compare exactly; codes and sessions are bounded, the oldest going first', () => {
    const sessions = new DashboardSessions({ ...DEFAULT_SESSION_LIMITS, maxCodes: 2, maxSessions: 2 });
    const [a, b, c] = ['a', 'b', 'c'].map((actor) => sessions.issueCode(actor).code);
    expect(sessions.redeem(a!)).toBeUndefined();
    const first = sessions.redeem(b!)!;
    expect(DashboardSessions.keyMatches(first, first.key)).toBe(true);
    expect(DashboardSessions.keyMatches(first, `${first.key}x`)).toBe(false);
    expect(DashboardSessions.keyMatches(first, undefined)).toBe(false);
    sessions.redeem(c!);
    sessions.redeem(sessions.issueCode('d').code);
    expect(sessions.session(first.id)).toBeUndefined();
  });
});

describe('the charts’ series from cumulative request counters (real prom-client registries)', () => {
  const at = (deployment: string, route: string) => ({ deployment, revision: '1', route });
  const reading = async (...sources: [string, Registry][]): Promise<Map<string, MetricsJson>> =>
    new Map(await Promise.all(sources.map(async ([name, registry]) => [name, await registry.getMetricsAsJSON()] as const)));

  it('rates, error rates and percentiles per interval, gateway and own-port traffic summed, shadow copies left out', async () => {
    const gatewayRegistry = new Registry();
    const workerRegistry = new Registry();
    const gateway = new RequestMetrics(gatewayRegistry);
    const worker = new RequestMetrics(workerRegistry);
    const series = new RequestSeries(() => Promise.resolve(new Map()));
    gateway.observe(at('iris', 'direct'), 200, 0.004);
    series.add(await reading(['gateway', gatewayRegistry], ['worker:1', workerRegistry]), 10_000);
    expect(series.series()).toEqual({});
    for (let i = 0; i < 9; i++) gateway.observe(at('iris', 'endpoint:front:weighted'), 200, 0.004);
    gateway.observe(at('iris', 'endpoint:front:weighted'), 500, 0.3);
    gateway.observe(at('iris', 'shadow:front'), 500, 0.3);
    for (let i = 0; i < 10; i++) worker.observe(at('iris', 'port'), 200, 0.004);
    series.add(await reading(['gateway', gatewayRegistry], ['worker:1', workerRegistry]), 12_000);
    const [point] = series.series()['iris']!;
    expect(point).toMatchObject({ t: 12, rps: 10, error_rate: 0.05 });
    expect(point!.p50_ms).toBeGreaterThan(0);
    expect(point!.p50_ms).toBeLessThanOrEqual(5);
    expect(point!.p99_ms).toBeGreaterThan(250);
  });

  it('a worker that restarts counts from zero, one that misses a sample is counted at the next over its own time, a new one starts from its first reading', async () => {
    const series = new RequestSeries(() => Promise.resolve(new Map()));
    const first = new Registry();
    const metrics = new RequestMetrics(first);
    for (let i = 0; i < 100; i++) metrics.observe(at('iris', 'port'), 200, 0.004);
    series.add(await reading(['worker:1', first]), 0);
    for (let i = 0; i < 4; i++) metrics.observe(at('iris', 'port'), 200, 0.004);
    series.add(new Map(), 2000);
    series.add(await reading(['worker:1', first]), 4000);
    const restarted = new Registry();
    const again = new RequestMetrics(restarted);
    for (let i = 0; i < 6; i++) again.observe(at('iris', 'port'), 200, 0.004);
    const late = new Registry();
    const newcomer = new RequestMetrics(late);
    for (let i = 0; i < 1000; i++) newcomer.observe(at('iris', 'port'), 200, 0.004);
    series.add(await reading(['worker:1', restarted], ['worker:2', late]), 6000);
    // 4 requests over the 4 s since its last reading; then 6 since its restart over 2 s.
    expect(series.series()['iris']!.map((p) => p.rps)).toEqual([1, 3]);
  });

  it('a worker that misses a sample makes no spike: what it counted meanwhile is spread over its own time', async () => {
    const series = new RequestSeries(() => Promise.resolve(new Map()));
    const [a, b] = [new Registry(), new Registry()];
    const [countA, countB] = [new RequestMetrics(a), new RequestMetrics(b)];
    const tick = (registry: RequestMetrics): void => {
      for (let i = 0; i < 20; i++) registry.observe(at('iris', 'port'), 200, 0.004);
    };
    series.add(await reading(['worker:1', a], ['worker:2', b]), 0);
    tick(countA);
    tick(countB);
    series.add(await reading(['worker:1', a], ['worker:2', b]), 2000);
    tick(countA);
    tick(countB);
    series.add(await reading(['worker:1', a]), 4000);
    tick(countA);
    tick(countB);
    series.add(await reading(['worker:1', a], ['worker:2', b]), 6000);
    expect(series.series()['iris']!.map((p) => p.rps)).toEqual([20, 10, 20]);
  });

  it('how each endpoint routed its requests over the last interval: by deployment and rule', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry);
    const series = new RequestSeries(() => Promise.resolve(new Map()));
    metrics.observe(at('blue', 'endpoint:front:weighted'), 200, 0.004);
    series.add(await reading(['gateway', registry]), 0);
    expect(series.routing()).toEqual({});
    for (let i = 0; i < 8; i++) metrics.observe(at('blue', 'endpoint:front:weighted'), 200, 0.004);
    for (let i = 0; i < 4; i++) metrics.observe(at('green', 'endpoint:front:pinned'), 200, 0.004);
    for (let i = 0; i < 2; i++) metrics.observe(at('green', 'endpoint:a:b:sticky'), 200, 0.004);
    metrics.observe(at('green', 'shadow:front'), 200, 0.004);
    series.add(await reading(['gateway', registry]), 2000);
    expect(series.routing()).toEqual({
      front: [
        { deployment: 'blue', rule: 'weighted', rps: 4 },
        { deployment: 'green', rule: 'pinned', rps: 2 },
      ],
      'a:b': [{ deployment: 'green', rule: 'sticky', rps: 1 }],
    });
  });

  it('keeps the last minutes only', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry);
    const series = new RequestSeries(() => Promise.resolve(new Map()), 2000, 10_000);
    for (let t = 0; t <= 30_000; t += 2000) {
      metrics.observe(at('iris', 'direct'), 200, 0.004);
      series.add(await reading(['gateway', registry]), t);
    }
    expect(series.series()['iris']!.map((p) => p.t)).toEqual([20, 22, 24, 26, 28, 30]);
  });
});
