import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { snapshotSchema, type Rollout } from '../src/protocol.js';
import { diffValues, revisionContent, sameJson } from '../ui/diff.js';
import {
  formatAge,
  formatJson,
  formatMs,
  formatNumber,
  formatPercent,
  formatRate,
  formatTime,
  formatValue,
  NO_VALUE,
  stateLook,
} from '../ui/format.js';
import { DEFAULT_MIN_REQUESTS, gateRows } from '../ui/gates.js';
import { remoteCell, remoteColumns } from '../ui/remote.js';
import { actionAllowed, stepText } from '../ui/rollout-text.js';
import { parseRoute, routeHref, sectionOf, type Route } from '../ui/route.js';
import { rollout as rolloutFixture, snapshot } from './fixtures/snapshot.js';

const rollout: Rollout = snapshotSchema.parse(snapshot).rollouts[0]!;

describe('formatting', () => {
  it('writes figures with their units, and a dash for what is not known', () => {
    expect(formatNumber(12.3456)).toBe('12.35');
    expect(formatNumber(3)).toBe('3');
    expect(formatRate(0.0123)).toBe('1.23 %');
    expect(formatRate(0)).toBe('0 %');
    expect(formatPercent(10)).toBe('10 %');
    expect(formatPercent(33.333)).toBe('33.3 %');
    expect(formatMs(9.754)).toBe('9.75 ms');
    for (const missing of [null, undefined, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect([formatNumber(missing), formatRate(missing), formatPercent(missing), formatMs(missing)]).toEqual([
        NO_VALUE,
        NO_VALUE,
        NO_VALUE,
        NO_VALUE,
      ]);
    }
  });

  it('writes times and ages', () => {
    expect(formatTime('not a date')).toBe('not a date');
    expect(formatTime(null)).toBe(NO_VALUE);
    expect(formatTime('2026-01-01T00:00:00.000Z')).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const now = new Date('2026-01-01T12:00:00Z');
    expect(formatAge('2026-01-01T11:59:55Z', now)).toBe('5 s ago');
    expect(formatAge('2026-01-01T11:57:00Z', now)).toBe('3 min ago');
    expect(formatAge('2026-01-01T10:00:00Z', now)).toBe('2 h ago');
    expect(formatAge('2025-12-28T12:00:00Z', now)).toBe('4 d ago');
    expect(formatAge('2026-01-01T12:00:10Z', now)).toBe('0 s ago');
  });

  it('writes any value as text', () => {
    expect(formatValue('text')).toBe('text');
    expect(formatValue({ a: [1, 2] })).toBe('{"a":[1,2]}');
    expect(formatValue(undefined)).toBe(NO_VALUE);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(formatValue(cycle)).toBe(NO_VALUE);
    expect(formatJson({ a: 1 })).toBe('{\n  "a": 1\n}');
  });

  it('gives every state a symbol, and unknown ones a question mark', () => {
    for (const state of ['ready', 'degraded', 'unavailable', 'failed', 'running', 'paused', 'succeeded', 'rolled_back', 'aborted']) {
      expect(stateLook(state).symbol).not.toBe('?');
    }
    expect(stateLook('toString')).toEqual({ symbol: '?', tone: 'neutral' });
    expect(stateLook('InService')).toEqual(stateLook('ready'));
    expect(stateLook('Rolling_Back').tone).toBe('bad');
    expect(stateLook('Running').symbol).toBe(stateLook('running').symbol);
  });
});

describe('the diff', () => {
  it('lists added, removed and changed keys at any depth, in key order', () => {
    const diff = diffValues(
      { model_uri: 'a', config: { replicas: 1, env: { A: '1' }, gone: true, list: [1, 2] } },
      { model_uri: 'b', config: { replicas: 1, env: { A: '1', B: '2' }, list: [1, 2] } },
    );
    expect(diff.rows).toEqual(
      [
        { kind: 'removed', path: 'config.gone', before: true },
        { kind: 'added', path: 'config.env.B', after: '2' },
        { kind: 'changed', path: 'model_uri', before: 'a', after: 'b' },
      ].sort((x, y) => x.path.localeCompare(y.path)),
    );
    expect(diff.unchanged).toBe(3);
  });

  it('compares arrays whole and tells a type change', () => {
    expect(diffValues({ l: [1, 2] }, { l: [2, 1] }).rows).toEqual([{ kind: 'changed', path: 'l', before: [1, 2], after: [2, 1] }]);
    expect(diffValues({ c: { a: 1 } }, { c: 'x' }).rows).toEqual([{ kind: 'changed', path: 'c', before: { a: 1 }, after: 'x' }]);
    expect(diffValues(1, 2).rows).toEqual([{ kind: 'changed', path: '', before: 1, after: 2 }]);
  });

  it('lists every key of a state that is new or gone', () => {
    expect(diffValues(undefined, { a: 1, b: { c: 2 } }).rows).toEqual([
      { kind: 'added', path: 'a', after: 1 },
      { kind: 'added', path: 'b', after: { c: 2 } },
    ]);
    expect(diffValues({ a: 1 }, undefined).rows).toEqual([{ kind: 'removed', path: 'a', before: 1 }]);
    expect(diffValues(undefined, undefined)).toEqual({ rows: [], unchanged: 0 });
  });

  it('handles keys that are special in JavaScript', () => {
    const before = JSON.parse('{"__proto__": {"x": 1}, "constructor": 1}') as unknown;
    const after = JSON.parse('{"__proto__": {"x": 2}}') as unknown;
    expect(diffValues(before, after).rows).toEqual([
      { kind: 'changed', path: '__proto__.x', before: 1, after: 2 },
      { kind: 'removed', path: 'constructor', before: 1 },
    ]);
  });

  it('never throws, finds nothing between equal values, and something between different ones', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const same = diffValues(a, structuredClone(a));
        expect(same.rows).toEqual([]);
        const diff = diffValues(a, b);
        expect(diff.rows.length === 0).toBe(sameJson(a, b));
        expect(new Set(diff.rows.map((row) => row.path)).size).toBe(diff.rows.length);
      }),
    );
  });

  it('compares a revision by its model and config', () => {
    const revision = {
      revision: 1,
      current: true,
      reason: 'create',
      model_uri: 'm',
      model_version: null,
      flavor: 'onnx',
      config: { a: 1 },
      created_at: 't',
    };
    expect(revisionContent(revision)).toEqual({ model_uri: 'm', model_version: null, flavor: 'onnx', config: { a: 1 } });
  });
});

describe('the gates table', () => {
  it('judges each gate of the policy on the live figures, with minRequests always there', () => {
    const rows = gateRows(rollout);
    expect(rows.map((r) => [r.gate, r.thresholdText, r.valueText, r.verdict])).toEqual([
      ['maxErrorRate', '≤ 1 %', '0 %', 'passing'],
      ['maxP99LatencyRatio', '≤ 1.5×', '1.2×', 'passing'],
      ['minRequests', `≥ ${DEFAULT_MIN_REQUESTS} (default)`, '9', 'failing'],
    ]);
  });

  it('computes increases and ratios, and says "no data" without figures', () => {
    const policy = {
      strategy: 'shadow-then-canary',
      gates: { maxErrorRateIncrease: 0.01, maxP99LatencyMs: 100, minShadowAgreement: 0.9, minRequests: 5 },
    };
    const metrics = {
      candidate_error_rate: 0.05,
      current_error_rate: 0.01,
      candidate_p99_ms: 150,
      shadow_agreement: 0.95,
      candidate_requests: 5,
    };
    const rows = gateRows({ policy, last_metrics: metrics });
    expect(rows.map((r) => [r.gate, r.verdict])).toEqual([
      ['maxErrorRateIncrease', 'failing'],
      ['maxP99LatencyMs', 'failing'],
      ['minShadowAgreement', 'passing'],
      ['minRequests', 'passing'],
    ]);
    expect(rows[0]!.value).toBeCloseTo(0.04);
    expect(gateRows({ policy, last_metrics: null }).every((r) => r.verdict === 'no data' && r.valueText === NO_VALUE)).toBe(true);
    const ratio = gateRows({
      policy: { strategy: 'canary', gates: { maxP99LatencyRatio: 2 } },
      last_metrics: { candidate_p99_ms: 5, current_p99_ms: 0 },
    });
    expect(ratio[0]!.verdict).toBe('no data');
  });

  it('never throws on any figures', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.option(fc.double(), { nil: null })), (metrics) => {
        for (const row of gateRows({
          policy: { strategy: 'canary', gates: { maxErrorRate: 0.1, maxP99LatencyRatio: 1.5, maxErrorRateIncrease: 0.1 } },
          last_metrics: metrics,
        })) {
          expect(['passing', 'failing', 'no data']).toContain(row.verdict);
        }
      }),
    );
  });
});

describe('rollouts in words', () => {
  it('counts steps from 1, and names the shadow and final phases', () => {
    expect(stepText(0, rollout)).toBe('1 of 2');
    expect(stepText(1, rollout)).toBe('2 of 2');
    expect(stepText(2, rollout)).toBe('final (100 %)');
    const shadowFirst = {
      policy: { ...rollout.policy, strategy: 'shadow-then-canary', shadow: { percent: 20, bakeSeconds: 60 } },
    } as const;
    expect(stepText(0, shadowFirst)).toBe('shadow');
    expect(stepText(1, shadowFirst)).toBe('1 of 2');
    expect(stepText(3, shadowFirst)).toBe('final (100 %)');
    expect(stepText(0, { policy: { strategy: 'blue-green' } })).toBe('1 of 1');
  });

  it('offers each action only in the states the control plane takes it in', () => {
    expect(actionAllowed('running', 'pause')).toBe(true);
    expect(actionAllowed('paused', 'pause')).toBe(false);
    expect(actionAllowed('paused', 'resume')).toBe(true);
    expect(actionAllowed('running', 'resume')).toBe(false);
    for (const action of ['abort', 'promote'] as const) {
      expect(actionAllowed('running', action) && actionAllowed('paused', action)).toBe(true);
      for (const done of ['succeeded', 'rolled_back', 'aborted', 'failed'] as const) expect(actionAllowed(done, action)).toBe(false);
    }
    expect(rolloutFixture.state).toBe('running');
  });
});

describe('routes', () => {
  it('reads each view from the hash, the deployments list by default', () => {
    expect(parseRoute('')).toEqual({ view: 'deployments' });
    expect(parseRoute('#/nowhere')).toEqual({ view: 'deployments' });
    expect(parseRoute('#/deployments/iris')).toEqual({ view: 'deployment', name: 'iris' });
    expect(parseRoute('#/deployments/iris/')).toEqual({ view: 'deployment', name: 'iris' });
    expect(parseRoute('#/endpoints/web')).toEqual({ view: 'endpoints', name: 'web' });
    expect(parseRoute('#/rollouts/ro-0123456789')).toEqual({ view: 'rollout', id: 'ro-0123456789' });
    expect(parseRoute('#/audit')).toEqual({ view: 'audit' });
    expect(parseRoute('#/deployments/%E0%A4%A')).toEqual({ view: 'deployments' });
    expect(sectionOf(parseRoute('#/rollouts/x'))).toBe('rollouts');
  });

  it('makes links that come back as the same view, for any name', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (name) => {
        for (const route of [
          { view: 'deployment', name },
          { view: 'endpoints', name },
          { view: 'rollout', id: name },
        ] as Route[]) {
          expect(parseRoute(routeHref(route))).toEqual(route);
        }
      }),
    );
  });
});

describe('remote targets', () => {
  it('shows the name, state or status, and the model fields the records have', () => {
    const records = [
      { name: 'a', status: 'InService', model_uri: 'm', extra: 1 },
      { name: 'b', model_version: '2', replicas: 3 },
    ];
    expect(remoteColumns(records)).toEqual(['name', 'status', 'model_uri', 'model_version', 'replicas']);
    expect(remoteCell(records[1]!, 'model_uri')).toBe(NO_VALUE);
    expect(remoteCell({ name: 'c', traffic: { x: 1 } }, 'traffic')).toBe('{"x":1}');
    expect(remoteColumns([])).toEqual(['name']);
  });
});
