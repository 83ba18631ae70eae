import { rolloutPhases, rolloutPolicySchema, type RolloutPolicy } from '@mldeploy/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestMetrics } from '../src/server/request-metrics.js';
import { decidePhase, type PhaseObservation, type RequestWindow } from '../src/server/rollouts/rollout-decision.js';
import { requestCounters, requestWindow } from '../src/server/rollouts/request-window.js';

/**
 * The rollout engine's decisions as pure functions: phases from policies, windows from the
 * gateway's real prom-client counters, and verdicts over recorded metric series (one
 * observation per second of a phase, as the engine makes them).
 */
const policy = (value: unknown): RolloutPolicy => rolloutPolicySchema.parse(value);
const window = (requests: number, errors: number, p99Ms: number | null): RequestWindow => ({ requests, errors, p99Ms });

describe('phases of each strategy', () => {
  it('canary and linear follow their steps and end at 100 %; shadow-then-canary mirrors first', () => {
    const steps = [
      { weight: 10, bakeSeconds: 60 },
      { weight: 50, bakeSeconds: 120 },
    ];
    expect(rolloutPhases(policy({ strategy: 'canary', steps }))).toEqual([
      { kind: 'traffic', weight: 10, bakeSeconds: 60 },
      { kind: 'traffic', weight: 50, bakeSeconds: 120 },
      { kind: 'traffic', weight: 100, bakeSeconds: 0 },
    ]);
    expect(rolloutPhases(policy({ strategy: 'shadow-then-canary', shadow: { percent: 30, bakeSeconds: 90 }, steps }))[0]).toEqual({
      kind: 'shadow',
      weight: 30,
      bakeSeconds: 90,
    });
    expect(rolloutPhases(policy({ strategy: 'linear', steps: [...steps, { weight: 100, bakeSeconds: 30 }] })).at(-1)).toEqual({
      kind: 'traffic',
      weight: 100,
      bakeSeconds: 30,
    });
  });

  it('blue/green and all-at-once are one phase at 100 %, blue/green baking (60 s unless a step says)', () => {
    expect(rolloutPhases(policy({ strategy: 'blue-green' }))).toEqual([{ kind: 'traffic', weight: 100, bakeSeconds: 60 }]);
    expect(rolloutPhases(policy({ strategy: 'all-at-once' }))).toEqual([{ kind: 'traffic', weight: 100, bakeSeconds: 0 }]);
  });

  it('a policy that cannot run is refused with where it is wrong', () => {
    const wrong = rolloutPolicySchema.safeParse({
      strategy: 'canary',
      steps: [
        { weight: 50, bakeSeconds: 1 },
        { weight: 20, bakeSeconds: 1 },
      ],
      gates: { maxErrorRat: 1 },
    });
    expect(wrong.success).toBe(false);
    const messages = wrong.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages.join('\n')).toMatch(/gates: Unrecognized key: "maxErrorRat"/);
    expect(rolloutPolicySchema.safeParse({ strategy: 'canary' }).error?.issues[0]?.message).toMatch(/a canary rollout needs steps/);
    expect(
      rolloutPolicySchema.safeParse({ strategy: 'shadow-then-canary', steps: [{ weight: 10, bakeSeconds: 1 }] }).error?.issues[0]?.path,
    ).toEqual(['shadow']);
  });
});

describe('request windows from the gateway’s counters (real prom-client registries)', () => {
  it('counts one deployment on the routes asked for, and takes p99 from the histogram buckets', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry);
    const at = (deployment: string, route: string) => ({ deployment, revision: '1', route });
    const before = requestCounters(await registry.getMetricsAsJSON(), 'b', (r) => r.startsWith('endpoint:front:'));
    for (let i = 0; i < 99; i++) metrics.observe(at('b', 'endpoint:front:weighted'), 200, 0.004);
    metrics.observe(at('b', 'endpoint:front:weighted'), 500, 0.3);
    metrics.observe(at('b', 'direct'), 500, 0.3); // another route: not counted
    metrics.observe(at('a', 'endpoint:front:weighted'), 500, 0.3); // another deployment: not counted
    const now = requestCounters(await registry.getMetricsAsJSON(), 'b', (r) => r.startsWith('endpoint:front:'));
    expect(requestWindow(before, now)).toEqual({ requests: 100, errors: 1, p99Ms: 5 });
    // One more slow request pushes the 99th percentile into the slow bucket.
    metrics.observe(at('b', 'endpoint:front:weighted'), 200, 0.3);
    const later = requestCounters(await registry.getMetricsAsJSON(), 'b', (r) => r.startsWith('endpoint:front:'));
    // Within the bucket the percentile falls in, linear as Prometheus's histogram_quantile: 250 + 250 × 0.99.
    expect(requestWindow(now, later)).toEqual({ requests: 1, errors: 0, p99Ms: 497.5 });
    expect(requestWindow(before, later)?.p99Ms).toBeCloseTo(373.75, 6);
    // Above the largest bucket (10 s) the latency is only known to exceed it: no finite gate passes.
    metrics.observe(at('b', 'endpoint:front:weighted'), 200, 30);
    const slowest = requestCounters(await registry.getMetricsAsJSON(), 'b', (r) => r.startsWith('endpoint:front:'));
    const window = requestWindow(later, slowest)!;
    expect(window.p99Ms).toBe(Infinity);
    const gate = decidePhase(
      policy({ strategy: 'canary', steps: [{ weight: 10, bakeSeconds: 1 }], gates: { maxP99LatencyMs: 60_000, minRequests: 1 } }),
      {
        phase: { kind: 'traffic', weight: 10, bakeSeconds: 1 },
        elapsedSeconds: 0,
        candidate: window,
        current: window,
      },
    );
    expect(gate.reason).toBe('gate failed: p99 latency over 10 s (above every latency bucket) > maxP99LatencyMs 60000 ms');
  });

  it('counters that went down (a new gateway, a replaced revision) give no window', () => {
    expect(
      requestWindow({ requests: 10, errors: 0, buckets: { '+Inf': 10 } }, { requests: 2, errors: 0, buckets: { '+Inf': 2 } }),
    ).toBeUndefined();
  });
});

/** Runs a recorded series (one observation per second) through the decision until it is not a hold. */
function replay(p: RolloutPolicy, series: Omit<PhaseObservation, 'phase' | 'elapsedSeconds'>[], phase = rolloutPhases(p)[0]!) {
  const decisions = series.map((observation, second) => decidePhase(p, { ...observation, phase, elapsedSeconds: second + 1 }));
  const final = decisions.findIndex((d) => d.action !== 'hold');
  return { at: final + 1, decision: decisions[final === -1 ? decisions.length - 1 : final]! };
}

describe('decisions over recorded series', () => {
  const canary = policy({
    strategy: 'canary',
    steps: [{ weight: 20, bakeSeconds: 5 }],
    gates: { maxErrorRate: 0.02, maxP99LatencyMs: 250, maxP99LatencyRatio: 3, minRequests: 20 },
  });
  const healthy = (second: number) => ({ candidate: window(12 * second, 0, 10), current: window(48 * second, 0, 10) });

  it('a healthy candidate holds through its bake, then is promoted with the figures', () => {
    const { at, decision } = replay(
      canary,
      Array.from({ length: 8 }, (_, i) => healthy(i + 1)),
    );
    expect(at).toBe(5);
    expect(decision.action).toBe('promote');
    expect(decision.reason).toBe('gates met at 20 % of traffic for 5 s (60 requests)');
    expect(decision.metrics).toMatchObject({ candidate_requests: 60, candidate_error_rate: 0, candidate_p99_ms: 10 });
  });

  it('a candidate failing on part of its inputs is rolled back at the first check with enough requests, before its bake ends', () => {
    const series = [1, 2, 3, 4].map((s) => ({ candidate: window(12 * s, 4 * s, 10), current: window(48 * s, 0, 10) }));
    const { at, decision } = replay(canary, series);
    expect(at).toBe(2); // 24 requests ≥ minRequests 20
    expect(decision.action).toBe('rollback');
    expect(decision.reason).toBe('gate failed: error rate 33.33 % > maxErrorRate 2.00 %');
  });

  it('a slow candidate is rolled back on p99 latency, absolute and against the current deployment', () => {
    const series = [1, 2, 3].map((s) => ({ candidate: window(12 * s, 0, 500), current: window(48 * s, 0, 10) }));
    const { decision } = replay(canary, series);
    expect(decision.action).toBe('rollback');
    expect(decision.reason).toContain('p99 latency 500 ms > maxP99LatencyMs 250 ms');
    expect(decision.reason).toContain('p99 latency 500 ms vs 10 ms on the current deployment: 50.00× > maxP99LatencyRatio 3×');
  });

  it('without enough traffic to judge, the bake ends in a hold that says so, never a promote', () => {
    const series = Array.from({ length: 10 }, (_, i) => ({ candidate: window(i, 0, 10), current: window(4 * i, 0, 10) }));
    const { decision } = replay(canary, series);
    expect(decision.action).toBe('hold');
    expect(decision.reason).toBe('waiting for traffic: 9 of 20 requests to judge the gates on');
  });

  it('an error rate compared with the current deployment discounts what both refuse', () => {
    const relative = policy({ strategy: 'canary', steps: [{ weight: 50, bakeSeconds: 2 }], gates: { maxErrorRateIncrease: 0.05 } });
    const both = [1, 2, 3].map((s) => ({ candidate: window(30 * s, 3 * s, 10), current: window(30 * s, 3 * s, 10) }));
    expect(replay(relative, both).decision.action).toBe('promote');
    const worse = [1, 2, 3].map((s) => ({ candidate: window(30 * s, 9 * s, 10), current: window(30 * s, 3 * s, 10) }));
    expect(replay(relative, worse).decision.reason).toMatch(/error rate 30.00 % vs 10.00 % on the current deployment/);
  });

  it('a shadow phase is judged on agreement with the current deployment', () => {
    const shadowed = policy({
      strategy: 'shadow-then-canary',
      shadow: { percent: 50, bakeSeconds: 3 },
      steps: [{ weight: 10, bakeSeconds: 1 }],
      gates: { minShadowAgreement: 0.99, minRequests: 10 },
    });
    const agreeing = [1, 2, 3, 4].map((s) => ({
      candidate: window(6 * s, 0, 10),
      current: window(12 * s, 0, 10),
      shadow: { mirrored: 6 * s, errors: 0, agreementRate: 1 },
    }));
    expect(replay(shadowed, agreeing).decision.action).toBe('promote');
    const disagreeing = agreeing.map((o) => ({ ...o, shadow: { ...o.shadow, agreementRate: 0.7 } }));
    expect(replay(shadowed, disagreeing)).toMatchObject({
      at: 2,
      decision: { action: 'rollback', reason: 'gate failed: shadow agreement 70.00 % < minShadowAgreement 99.00 %' },
    });
  });
});
