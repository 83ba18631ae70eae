import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { venvBin } from '../../../test/support/mlflow-scoring-server.js';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { runCli, type CliResult } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { IRIS, localHome } from './support.js';

/**
 * Rollouts on the local target with real workers and real traffic: a load generator sends
 * predictions to an endpoint while the control plane's engine moves its traffic step by step,
 * judging the candidate on the gateway's live metrics.
 */
interface RolloutView {
  id: string;
  state: string;
  from: string;
  to: string;
  weight: number;
  step: number;
  decisions: { action: string; reason: string; metrics?: Record<string, unknown> }[];
}

const local = localHome('rollouts');
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.1, 5.6, 2.4],
];

/** A copy of a fixture model with its MLmodel edited (and its files replaced by `files`). */
function variant(fixture: string, edit: (mlmodel: string) => string, files: Record<string, string> = {}): string {
  const dir = path.join(tempDir('rollout-model'), 'model');
  cpSync(fixture, dir, { recursive: true });
  const file = path.join(dir, 'MLmodel');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** Sends predictions to an endpoint, several at a time, until stopped; counts what came back. */
function load(endpoint: string, body: (i: number) => unknown): { stop: () => Promise<{ sent: number; statuses: Record<number, number> }> } {
  let stopped = false;
  let sent = 0;
  const statuses: Record<number, number> = {};
  const url = `${local.gateway()}/endpoints/${endpoint}/invocations`;
  const worker = async (): Promise<void> => {
    while (!stopped) {
      const i = sent++;
      const status = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(i)) })
        .then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        })
        .catch(() => 0);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  const workers = Array.from({ length: 4 }, () => worker());
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
      return { sent, statuses };
    },
  };
}

/** `mldeploy rollout <sub> -t <home> …`: the target flag goes after the subcommand. */
function rollout(sub: string, ...args: string[]): Promise<CliResult> {
  return runCli(['rollout', sub, '-t', local.target, ...args], { timeoutMs: 120_000 });
}

async function rolloutJson<T>(sub: string, ...args: string[]): Promise<T> {
  const result = await rollout(sub, ...args, '--json');
  if (result.code !== 0) throw new Error(`mldeploy rollout ${sub} ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

async function endpointTraffic(name: string): Promise<Record<string, number>> {
  return (await local.json<{ traffic: Record<string, number> }>('get-endpoint', '--endpoint', name)).traffic;
}

beforeAll(async () => {
  for (const [name, model] of [
    ['stable', IRIS],
    ['good', variant(IRIS, (m) => m)],
    ['good-2', variant(IRIS, (m) => m)],
    // Serves batches of exactly two rows: requests of one row fail (400), as a model that fails on part of its inputs.
    [
      'picky',
      variant(IRIS, (m) => m.replace('"shape": [-1, 4]', '"shape": [2, 4]'), {
        'serving_input_example.json': JSON.stringify({ inputs: ROWS }),
      }),
    ],
  ] as const) {
    const created = await local.cli('create', '--name', name, '-m', model);
    expect(created.code, created.stderr).toBe(0);
  }
}, 180_000);
afterAll(async () => {
  await local.stop();
});

describe('rollouts on the local target, real workers and traffic', { timeout: 180_000 }, () => {
  it('a canary with healthy metrics is promoted step by step until the candidate has all traffic', async () => {
    expect((await local.cli('create-endpoint', '--endpoint', 'front', '-C', 'traffic={"stable": 100}')).code).toBe(0);
    const traffic = load('front', () => ({ inputs: ROWS }));
    const policy = {
      strategy: 'canary',
      steps: [
        { weight: 25, bakeSeconds: 2 },
        { weight: 50, bakeSeconds: 2 },
      ],
      gates: { maxErrorRate: 0.01, maxP99LatencyMs: 2000, minRequests: 10 },
    };
    const started = await rollout('start', '--endpoint', 'front', '--to', 'good', '--policy', JSON.stringify(policy), '--wait', '--json');
    const sent = await traffic.stop();
    expect(started.code, started.stderr).toBe(0);
    const ended = JSON.parse(started.stdout) as RolloutView;
    expect(ended).toMatchObject({ state: 'succeeded', from: 'stable', to: 'good', weight: 100 });
    expect(ended.decisions.map((d) => d.action)).toEqual(['promote', 'promote', 'promote', 'complete']);
    expect(ended.decisions[1]!.reason).toMatch(/^gates met at 25 % of traffic for 2 s \(\d+ requests\)$/);
    expect(ended.decisions[1]!.metrics).toMatchObject({ candidate_error_rate: 0 });
    expect(started.stderr).toMatch(/step 1: promote: gates met at 50 % of traffic/);
    expect(await endpointTraffic('front')).toEqual({ good: 100 });
    // Callers saw no failure while the traffic moved.
    expect(Object.keys(sent.statuses)).toEqual(['200']);
    // Who started it and every step it took are in the audit log, whose chain verifies.
    const audit = await runCli(['audit', 'list', '-t', local.target, '--subject', 'front', '--json']);
    const entries = JSON.parse(audit.stdout) as { action: string; actor: string }[];
    expect(entries.filter((e) => e.action === 'rollout-start').map((e) => e.actor)).toEqual([userInfo().username]);
    expect(entries.filter((e) => e.action === 'rollout-step' && e.actor === `rollout:${ended.id}`).length).toBeGreaterThanOrEqual(4);
    expect((await runCli(['audit', 'verify', '-t', local.target])).code).toBe(0);
  });

  it('shadow-then-canary: the candidate first answers mirrored copies, judged on agreement, then takes traffic', async () => {
    expect((await local.cli('create-endpoint', '--endpoint', 'mirror', '-C', 'traffic={"stable": 100}')).code).toBe(0);
    const traffic = load('mirror', () => ({ inputs: ROWS }));
    const policy = {
      strategy: 'shadow-then-canary',
      shadow: { percent: 50, bakeSeconds: 2 },
      steps: [{ weight: 50, bakeSeconds: 1 }],
      gates: { minShadowAgreement: 0.99, maxErrorRate: 0.01, minRequests: 5 },
    };
    const started = await rollout('start', '--endpoint', 'mirror', '--to', 'good', '--policy', JSON.stringify(policy), '--wait', '--json');
    const sent = await traffic.stop();
    expect(started.code, started.stderr).toBe(0);
    const ended = JSON.parse(started.stdout) as RolloutView;
    expect(ended.decisions[1]).toMatchObject({ action: 'promote', metrics: { shadow_agreement: 1 } });
    expect(ended.decisions[1]!.reason).toMatch(/^gates met at shadow at 50 % for 2 s \(\d+ requests\)$/);
    const endpoint = await local.json<{ traffic: Record<string, number>; shadow: unknown }>('get-endpoint', '--endpoint', 'mirror');
    expect(endpoint).toMatchObject({ traffic: { good: 100 }, shadow: null });
    expect(Object.keys(sent.statuses)).toEqual(['200']);
  });

  it('a candidate that fails on part of its inputs is rolled back by itself, before its bake ends, with the gate and figures', async () => {
    expect((await local.cli('create-endpoint', '--endpoint', 'picky-front', '-C', 'traffic={"stable": 100}')).code).toBe(0);
    // Half the requests carry one row, which the candidate refuses.
    const traffic = load('picky-front', (i) => ({ inputs: i % 2 === 0 ? ROWS : [ROWS[0]] }));
    const policy = { strategy: 'canary', steps: [{ weight: 50, bakeSeconds: 60 }], gates: { maxErrorRate: 0.05, minRequests: 10 } };
    const begun = Date.now();
    const started = await rollout('start', '--endpoint', 'picky-front', '--to', 'picky', '--policy', JSON.stringify(policy), '--wait');
    await traffic.stop();
    expect(started.code).toBe(1);
    expect(started.stderr).toMatch(
      /INVALID_STATE: Rollout ro-[0-9a-f]{10} of picky-front rolled back: gate failed: error rate [\d.]+ % > maxErrorRate 5\.00 %; stable has all traffic again/,
    );
    expect(Date.now() - begun).toBeLessThan(45_000);
    expect(await endpointTraffic('picky-front')).toEqual({ stable: 100 });
  });

  it('a rollout interrupted by killing the control plane resumes after the restart and finishes', async () => {
    expect((await local.cli('create-endpoint', '--endpoint', 'phoenix', '-C', 'traffic={"stable": 100}')).code).toBe(0);
    const traffic = load('phoenix', () => ({ inputs: ROWS }));
    try {
      const policy = { strategy: 'canary', steps: [{ weight: 50, bakeSeconds: 5 }], gates: { maxErrorRate: 0.05, minRequests: 5 } };
      const started = await rolloutJson<RolloutView>(
        'start',
        '--endpoint',
        'phoenix',
        '--to',
        'good-2',
        '--policy',
        JSON.stringify(policy),
      );
      expect(started).toMatchObject({ state: 'running', weight: 50 });
      const { pid } = JSON.parse((await runCli(['server', 'status', '--home', local.home, '--json'])).stdout) as { pid: number };
      process.kill(pid, 'SIGKILL');
      await waitFor('the control plane to be gone', () => (!existsSync(`/proc/${pid}`) ? true : undefined));
      // The next command starts a new control plane, which resumes the rollout from its database.
      const done = await waitFor(
        'the rollout to finish after the restart',
        async () => {
          const view = await rolloutJson<RolloutView>('status', '--id', started.id);
          return view.state === 'running' ? undefined : view;
        },
        60_000,
      );
      expect(done.state).toBe('succeeded');
      expect(await endpointTraffic('phoenix')).toEqual({ 'good-2': 100 });
    } finally {
      await traffic.stop();
    }
  });

  it('pause keeps the traffic where it is, resume goes on, abort sends it all back; the endpoint is the rollout’s meanwhile', async () => {
    expect((await local.cli('create-endpoint', '--endpoint', 'held', '-C', 'traffic={"stable": 100}')).code).toBe(0);
    const policy = { strategy: 'canary', steps: [{ weight: 30, bakeSeconds: 600 }] };
    const started = await rolloutJson<RolloutView>('start', '--endpoint', 'held', '--to', 'good', '--policy', JSON.stringify(policy));
    expect(await endpointTraffic('held')).toEqual({ stable: 70, good: 30 });
    const second = await rollout('start', '--endpoint', 'held', '--to', 'good-2', '--policy', JSON.stringify(policy));
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`RESOURCE_CONFLICT: Endpoint "held" already has rollout ${started.id} (running)`);
    const byHand = await local.cli('update-endpoint', '--endpoint', 'held', '-C', 'traffic={"stable": 100}');
    expect(byHand.code).toBe(1);
    expect(byHand.stderr).toContain(`RESOURCE_CONFLICT: Endpoint "held" cannot be changed: rollout ${started.id} is running on it`);
    // Its two deployments stay as they are meanwhile: the gates compare them, its end routes to one.
    const deleteCandidate = await local.cli('delete', '--name', 'good');
    expect(deleteCandidate.code).toBe(1);
    expect(deleteCandidate.stderr).toContain(
      `RESOURCE_CONFLICT: Deployment "good" cannot be deleted: rollout ${started.id} of endpoint held moves traffic to it`,
    );
    const updateSource = await local.cli('update', '--name', 'stable', '-C', 'replicas=2');
    expect(updateSource.code).toBe(1);
    expect(updateSource.stderr).toContain(
      `RESOURCE_CONFLICT: Deployment "stable" cannot be updated: rollout ${started.id} of endpoint held moves traffic from it`,
    );
    expect((await rolloutJson<RolloutView>('pause', '--id', started.id)).state).toBe('paused');
    expect(await endpointTraffic('held')).toEqual({ stable: 70, good: 30 });
    expect((await rolloutJson<RolloutView>('resume', '--id', started.id)).state).toBe('running');
    const aborted = await rolloutJson<RolloutView>('abort', '--id', started.id);
    expect(aborted).toMatchObject({ state: 'aborted', weight: 0 });
    expect(await endpointTraffic('held')).toEqual({ stable: 100 });
    const again = await rollout('abort', '--id', started.id);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`RESOURCE_CONFLICT: Rollout ${started.id} is aborted: it cannot be aborted`);
    // Promote skips what is left, gates and bakes included, in the caller's name.
    const next = await rolloutJson<RolloutView>('start', '--endpoint', 'held', '--to', 'good', '--policy', JSON.stringify(policy));
    const promoted = await rolloutJson<RolloutView>('promote', '--id', next.id);
    expect(promoted).toMatchObject({ state: 'succeeded', weight: 100 });
    expect(promoted.decisions.at(-1)?.action).toBe('complete');
    expect(promoted.decisions.at(-1)?.reason).toContain(`promoted by ${userInfo().username}`);
    expect(await endpointTraffic('held')).toEqual({ good: 100 });
    const late = await rollout('promote', '--id', next.id);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain(`RESOURCE_CONFLICT: Rollout ${next.id} is succeeded: it cannot be promoted`);
    const audit = await runCli(['audit', 'list', '-t', local.target, '--subject', 'held', '--json']);
    const actions = (JSON.parse(audit.stdout) as { action: string; actor: string }[]).map((e) => `${e.action} by ${e.actor}`);
    expect(actions).toContain(`rollout-aborted by ${userInfo().username}`);
    expect(actions).toContain(`rollout-succeeded by ${userInfo().username}`);
    const listed = await rolloutJson<{ id: string }[]>('list', '--endpoint', 'held');
    expect(listed.map((r) => r.id)).toEqual([next.id, started.id]);
    // Back where the next test expects it: an ended rollout leaves the endpoint to its owner.
    expect((await local.cli('update-endpoint', '--endpoint', 'held', '-C', 'traffic={"stable": 100}')).code).toBe(0);
  });

  it('bad requests are refused with what is wrong, and change nothing', async () => {
    expect((await local.cli('create-endpoint', '--endpoint', 'split', '-C', 'traffic={"stable": 80, "good": 20}')).code).toBe(0);
    const canary = JSON.stringify({ strategy: 'canary', steps: [{ weight: 10, bakeSeconds: 1 }] });
    const cases: [string[], number, string][] = [
      [['--endpoint', 'split', '--to', 'good-2', '--policy', canary], 1, 'RESOURCE_CONFLICT: Endpoint "split" splits its traffic'],
      [['--endpoint', 'nowhere', '--to', 'good', '--policy', canary], 1, 'RESOURCE_DOES_NOT_EXIST: Endpoint "nowhere" does not exist'],
      [
        ['--endpoint', 'held', '--to', 'ghost', '--policy', canary],
        1,
        'RESOURCE_CONFLICT: Deployment "ghost" does not exist or does not serve',
      ],
      [
        ['--endpoint', 'held', '--to', 'stable', '--policy', canary],
        1,
        'INVALID_PARAMETER_VALUE: Deployment "stable" already has all of held',
      ],
      [['--endpoint', 'held', '--to', 'good', '--policy', '{"strategy": "canary"}'], 2, 'Invalid rollout policy in'],
      [
        ['--endpoint', 'held', '--to', 'good', '--policy', '{"strategy": "canary", "steps": [{"weight": 150, "bakeSeconds": 1}]}'],
        2,
        'steps.0.weight',
      ],
      [['--endpoint', 'held', '--to', 'good', '--policy', 'not json'], 2, "Cannot read the rollout policy from '--policy'"],
      [['--endpoint', 'held', '--to', 'good'], 2, "exactly one of '--policy <JSON>' and '--policy-file <FILE>'"],
    ];
    for (const [args, code, message] of cases) {
      const result = await rollout('start', ...args);
      expect({ args, code: result.code }).toEqual({ args, code });
      expect(result.stderr).toContain(message);
    }
    expect(await endpointTraffic('split')).toEqual({ stable: 80, good: 20 });
    expect(await endpointTraffic('held')).toEqual({ stable: 100 });
    const status = await rollout('status', '--id', 'ro-0000000000');
    expect(status.code).toBe(1);
    expect(status.stderr).toContain('RESOURCE_DOES_NOT_EXIST: Rollout "ro-0000000000" does not exist');
    const malformed = await rollout('status', '--id', '../../etc');
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('Not a rollout id');
  });
});

describe('a slow candidate (MLflow pyfunc models behind MLflow’s server)', { timeout: 240_000 }, () => {
  it('is rolled back on p99 latency', async () => {
    const sleepy = path.join(FIXTURE_MODELS, 'pyfunc-sleepy');
    // The same model, whose sleep_seconds parameter defaults to 0.3 s instead of 0: every request is slow.
    const slow = variant(sleepy, (m) => m.replace('"default": 0.0', '"default": 0.3'));
    for (const [name, model] of [
      ['py-fast', sleepy],
      ['py-slow', slow],
    ] as const) {
      const created = await runCli(['create', '-t', local.target, '--name', name, '-m', model], {
        env: { MLDEPLOY_MLFLOW: path.join(venvBin(), 'mlflow') },
        timeoutMs: 180_000,
      });
      expect(created.code, created.stderr).toBe(0);
    }
    expect((await local.cli('create-endpoint', '--endpoint', 'py', '-C', 'traffic={"py-fast": 100}')).code).toBe(0);
    const traffic = load('py', () => ({ dataframe_split: { columns: ['x'], data: [[1.0]] } }));
    const policy = { strategy: 'blue-green', steps: [{ weight: 100, bakeSeconds: 60 }], gates: { maxP99LatencyMs: 100, minRequests: 5 } };
    const started = await rollout('start', '--endpoint', 'py', '--to', 'py-slow', '--policy', JSON.stringify(policy), '--wait');
    await traffic.stop();
    expect(started.code).toBe(1);
    expect(started.stderr).toMatch(
      /rolled back: gate failed: p99 latency [\d.]+ ms > maxP99LatencyMs 100 ms; py-fast has all traffic again/,
    );
    expect(await endpointTraffic('py')).toEqual({ 'py-fast': 100 });
  });
});
