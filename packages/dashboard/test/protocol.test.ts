import { describe, expect, it } from 'vitest';
import {
  apiErrorSchema,
  auditAnswerSchema,
  logsAnswerSchema,
  rollbackRequestSchema,
  rolloutSchema,
  sessionSchema,
  snapshotSchema,
} from '../src/protocol.js';
import { rollout, snapshot } from './fixtures/snapshot.js';

const clone = <T>(value: T): T => structuredClone(value);

describe('the snapshot schema', () => {
  it('reads a snapshot the control plane sends', () => {
    const parsed = snapshotSchema.parse(snapshot);
    expect(parsed.deployments.map((d) => d.name)).toEqual(['blue', 'green']);
    expect(parsed.endpoints[0]!.shadow_comparison?.agreement_rate).toBe(0.975);
    expect(parsed.rollouts[0]!.last_metrics?.candidate_requests).toBe(9);
    expect(parsed.series.blue!.at(-1)!.p99_ms).toBeNull();
    expect(parsed.targets[0]!.deployments[0]).toMatchObject({ name: 'iris', status: 'ready', extra: { nested: true } });
  });

  it('keeps fields it does not name, so the server can add some', () => {
    const withExtra = { ...clone(snapshot), generation: 7, deployments: [{ ...snapshot.deployments[0]!, zone: 'a' }] };
    const parsed = snapshotSchema.parse(withExtra);
    expect(parsed).toMatchObject({ generation: 7 });
    expect(parsed.deployments[0]).toMatchObject({ zone: 'a' });
  });

  it('reads a rollout without last_metrics (a REST answer) and with null figures', () => {
    const { last_metrics: _dropped, ...rest } = rollout;
    expect(rolloutSchema.parse(rest).last_metrics).toBeUndefined();
    expect(rolloutSchema.parse({ ...rollout, last_metrics: null }).last_metrics).toBeNull();
    expect(rolloutSchema.parse({ ...rollout, last_metrics: { candidate_p99_ms: null } }).last_metrics).toEqual({ candidate_p99_ms: null });
  });

  it.each([
    ['a missing list', (s: Record<string, unknown>) => delete s.rollouts],
    ['a deployment without a name', (s: Record<string, unknown>) => delete (s.deployments as Record<string, unknown>[])[0]!.name],
    ['an unknown deployment state', (s: Record<string, unknown>) => ((s.deployments as Record<string, unknown>[])[0]!.state = 'sleepy')],
    ['an unknown rollout state', (s: Record<string, unknown>) => ((s.rollouts as Record<string, unknown>[])[0]!.state = 'maybe')],
    ['a point without rps', (s: Record<string, unknown>) => delete (s.series as Record<string, Record<string, unknown>[]>).blue![0]!.rps],
    ['a traffic weight as text', (s: Record<string, unknown>) => ((s.endpoints as Record<string, unknown>[])[0]!.traffic = { blue: '90' })],
    [
      'a metric as text',
      (s: Record<string, unknown>) => ((s.rollouts as Record<string, unknown>[])[0]!.last_metrics = { candidate_requests: '9' }),
    ],
    [
      'a remote record without a name',
      (s: Record<string, unknown>) => ((s.targets as Record<string, unknown>[])[0]!.deployments = [{ status: 'x' }]),
    ],
  ])('refuses a snapshot with %s', (_what, spoil) => {
    const bad = clone(snapshot) as unknown as Record<string, unknown>;
    spoil(bad);
    expect(snapshotSchema.safeParse(bad).success).toBe(false);
  });

  it('refuses what is not a snapshot', () => {
    for (const value of [null, 42, 'snapshot', [], {}]) expect(snapshotSchema.safeParse(value).success).toBe(false);
  });
});

describe('the other answers', () => {
  it('reads a session and an error', () => {
    expect(sessionSchema.parse({ actor: 'ada', csrf_token: 't', version: '0.1.0', home: '/h' }).actor).toBe('ada');
    expect(sessionSchema.safeParse({ actor: 'ada' }).success).toBe(false);
    expect(apiErrorSchema.parse({ error_code: 'INVALID_STATE', message: 'no', hint: 'try' }).hint).toBe('try');
    expect(apiErrorSchema.parse({ error_code: 'INVALID_STATE', message: 'no' }).hint).toBeUndefined();
  });

  it('reads log records with and without a level, and audit entries with any before/after', () => {
    const entry = { time: 't', deployment: 'blue', revision: 1, replica: 0, event: 'start', message: 'hello' };
    const logs = logsAnswerSchema.parse({ name: 'blue', entries: [entry, { ...entry, level: 'warn' }] });
    expect(logs.entries.map((e) => e.level)).toEqual([undefined, 'warn']);
    const audit = auditAnswerSchema.parse({
      entries: [
        {
          id: 1,
          at: 't',
          actor: 'a',
          target: 'local:/h',
          action: 'create',
          subject: 'blue',
          detail: '',
          before: null,
          after: { x: 1 },
          result: 'ok',
          prev_hash: 'h',
          hash: 'h',
        },
      ],
    });
    expect(audit.entries[0]).toMatchObject({ before: null, after: { x: 1 }, prev_hash: 'h' });
  });

  it('checks a rollback request', () => {
    expect(rollbackRequestSchema.safeParse({ to_revision: 2 }).success).toBe(true);
    for (const bad of [{}, { to_revision: 0 }, { to_revision: 1.5 }, { to_revision: '2' }]) {
      expect(rollbackRequestSchema.safeParse(bad).success).toBe(false);
    }
  });
});
