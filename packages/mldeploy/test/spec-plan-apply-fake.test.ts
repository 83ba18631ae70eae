// Unit tests of the plan and apply logic against an in-process FAKE client (no target, no
// processes): comparison rules, ordering, capability refusals, stopping on failure, and the
// rollout path, whose real implementation (the local target's rollout engine) is wired later.
import {
  BaseDeploymentClient,
  MlDeployError,
  PredictionsResponse,
  type CreateDeploymentOptions,
  type Deployment,
  type DeploymentConfig,
  type Endpoint,
  type Rollout,
  type RolloutRequest,
  type RolloutState,
  type TargetCapabilities,
  type UpdateDeploymentOptions,
} from '@mldeploy/core';
import { describe, expect, it } from 'vitest';
import { applyPlan } from '../src/spec/apply-spec.js';
import { formatPlan } from '../src/spec/format-plan.js';
import { parseSpec } from '../src/spec/load-spec.js';
import { planSpec, type Plan, type TargetOpener } from '../src/spec/plan-spec.js';

interface FakeOptions {
  /** Whether getDeployment reports `config` (SageMaker's does not). */
  readonly reportsConfig?: boolean;
  /** `method name` pairs that throw, e.g. `createDeployment bad`. */
  readonly failing?: readonly string[];
  /** The states getRollout reports, one per call, each with one more decision. */
  readonly rolloutStates?: readonly RolloutState[];
}

/** A FAKE target kept in memory, recording every call that changes something. */
class FakeClient extends BaseDeploymentClient {
  readonly deployments = new Map<string, { name: string; flavor: string; model_uri: string; config: Record<string, unknown> }>();
  readonly endpoints = new Map<string, Record<string, unknown> & { name: string }>();
  readonly calls: string[] = [];
  private rollout: Rollout | undefined;
  private polls = 0;

  constructor(
    targetUri: string,
    private readonly options: FakeOptions = {},
  ) {
    super(targetUri);
  }

  /** Records a call and does it, or refuses it when it is one of `failing`. */
  private act<T>(call: string, change: () => T): Promise<T> {
    this.calls.push(call);
    if (this.options.failing?.includes(call)) {
      return Promise.reject(
        new MlDeployError('INVALID_PARAMETER_VALUE', `fake refuses ${call}`, { target: this.target, hint: 'fake hint' }),
      );
    }
    return Promise.resolve(change());
  }

  createDeployment(name: string, modelUri: string, options: CreateDeploymentOptions = {}): Promise<Deployment> {
    return this.act(`createDeployment ${name}`, () => {
      const deployment = { name, flavor: options.flavor ?? 'onnx', model_uri: modelUri, config: { replicas: 1, ...options.config } };
      this.deployments.set(name, deployment);
      return deployment;
    });
  }
  updateDeployment(name: string, options: UpdateDeploymentOptions = {}): Promise<Deployment> {
    return this.act(`updateDeployment ${name} ${JSON.stringify(options)}`, () => {
      const current = this.deployments.get(name)!;
      const updated = {
        ...current,
        model_uri: options.modelUri ?? current.model_uri,
        flavor: options.flavor ?? current.flavor,
        config: { ...current.config, ...options.config },
      };
      this.deployments.set(name, updated);
      return updated;
    });
  }
  deleteDeployment(name: string): Promise<void> {
    return this.act(`deleteDeployment ${name}`, () => void this.deployments.delete(name));
  }
  listDeployments(): Promise<Deployment[]> {
    return Promise.resolve([...this.deployments.values()].map((d) => ({ name: d.name })));
  }
  getDeployment(name: string): Promise<Deployment> {
    const d = this.deployments.get(name)!;
    if (this.options.reportsConfig === false) return Promise.resolve({ name: d.name, flavor: d.flavor, model_uri: d.model_uri });
    // Numbers come back as a target reports them, not as the strings a spec may give.
    const config = Object.fromEntries(
      Object.entries(d.config).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v]),
    );
    return Promise.resolve({ ...d, config });
  }
  predict(): Promise<PredictionsResponse> {
    return Promise.resolve(PredictionsResponse.from({ predictions: [] }));
  }
  override createEndpoint(name: string, config: DeploymentConfig = {}): Promise<Endpoint> {
    return this.act(`createEndpoint ${name} ${JSON.stringify(config)}`, () => {
      const endpoint = { sticky_header: null, ...config, name };
      this.endpoints.set(name, endpoint);
      return endpoint;
    });
  }
  override updateEndpoint(name: string, config: DeploymentConfig = {}): Promise<Endpoint> {
    return this.act(`updateEndpoint ${name} ${JSON.stringify(config)}`, () => {
      const endpoint = { ...this.endpoints.get(name)!, ...config, name };
      this.endpoints.set(name, endpoint);
      return endpoint;
    });
  }
  override deleteEndpoint(name: string): Promise<void> {
    return this.act(`deleteEndpoint ${name}`, () => void this.endpoints.delete(name));
  }
  override listEndpoints(): Promise<Endpoint[]> {
    return Promise.resolve([...this.endpoints.values()].map((e) => ({ name: e.name })));
  }
  override getEndpoint(name: string): Promise<Endpoint> {
    return Promise.resolve(this.endpoints.get(name)!);
  }
  override startRollout(request: RolloutRequest): Promise<Rollout> {
    return this.act(`startRollout ${request.endpoint} ${request.to} ${request.policy.strategy}`, () => {
      const from = Object.keys(this.endpoints.get(request.endpoint)!['traffic'] as object)[0]!;
      const now = new Date(0).toISOString();
      const rollout: Rollout = {
        id: 'r1',
        endpoint: request.endpoint,
        from,
        to: request.to,
        policy: request.policy,
        state: 'running',
        step: 0,
        weight: 0,
        decisions: [],
        started_at: now,
        updated_at: now,
      };
      this.rollout = rollout;
      return rollout;
    });
  }
  /** Each call: the next of `rolloutStates`, with one more decision; success moves the traffic. */
  override getRollout(id: string): Promise<Rollout> {
    const states = this.options.rolloutStates ?? ['succeeded'];
    const state = states[Math.min(this.polls, states.length - 1)]!;
    const step = this.polls++;
    const action = state === 'rolled_back' ? 'rollback' : state === 'succeeded' ? 'complete' : 'promote';
    const reason = state === 'rolled_back' ? 'p99 latency 412 ms over the gate of 200 ms' : `step ${step} healthy`;
    const previous = this.rollout!;
    const rollout: Rollout = {
      ...previous,
      id,
      state,
      step,
      decisions: [...previous.decisions, { at: previous.updated_at, step, action, reason }],
    };
    this.rollout = rollout;
    if (state === 'succeeded')
      this.endpoints.set(previous.endpoint, { ...this.endpoints.get(previous.endpoint)!, traffic: { [previous.to]: 100 } });
    return Promise.resolve(rollout);
  }
}

/** An opener over fake clients, by target URI. */
function targets(clients: Record<string, { client: FakeClient; capabilities: TargetCapabilities }>): TargetOpener {
  return (uri) => {
    const found = clients[uri];
    if (found === undefined) return Promise.reject(new MlDeployError('RESOURCE_DOES_NOT_EXIST', `No plugin found for "${uri}"`));
    return Promise.resolve(found);
  };
}

/** The error a promise rejects with; fails the test if it resolves. */
async function failure(pending: Promise<unknown>): Promise<MlDeployError> {
  const error = await pending.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof MlDeployError)) throw new Error(`expected an MlDeployError, got ${String(error)}`);
  return error;
}

const spec = (yaml: string) => parseSpec(`apiVersion: mldeploy/v1\n${yaml}`, '/specs/test.yaml');
const ALL = { endpoints: true, rollouts: true };

const TWO = `targets:
  - target: fake
    deployments:
      a: { model_uri: /models/a, flavor: onnx, config: { replicas: 2 } }
      b: { model_uri: /models/b }
    endpoints:
      ab: { traffic: { a: 90, b: 10 }, config: { sticky_header: x-user } }
`;

async function planAndApply(text: string, open: TargetOpener, prune = false): Promise<Plan> {
  const plan = await planSpec('test.yaml', spec(text), open, { prune });
  await applyPlan(plan, open, { pollIntervalMs: 1 });
  return plan;
}

/** A fake target `fake` (all capabilities) on which `text` has been applied; its record of calls starts empty. */
async function fakeWith(text: string, options: FakeOptions = {}): Promise<{ client: FakeClient; open: TargetOpener }> {
  const client = new FakeClient('fake', options);
  const open = targets({ fake: { client, capabilities: ALL } });
  await planAndApply(text, open);
  client.calls.length = 0;
  return { client, open };
}

describe('plan and apply with a FAKE client (unit tests of the logic)', () => {
  it('plans creates, applies them in order, then plans nothing', async () => {
    const client = new FakeClient('fake');
    const open = targets({ fake: { client, capabilities: ALL } });
    const plan = await planSpec('test.yaml', spec(TWO), open);
    expect(plan.targets[0]!.changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual([
      'create deployment a',
      'create deployment b',
      'create endpoint ab',
    ]);
    expect(formatPlan(plan)).toBe(
      'Target fake:\n' +
        '  + create deployment a: model_uri /models/a, flavor onnx, config replicas=2\n' +
        '  + create deployment b: model_uri /models/b\n' +
        '  + create endpoint ab: traffic a 90, b 10, config sticky_header=x-user\n' +
        'Plan: 3 to create, 0 to update, 0 to delete.\n',
    );
    expect(client.calls).toEqual([]);
    await applyPlan(plan, open);
    expect(client.calls).toEqual([
      'createDeployment a',
      'createDeployment b',
      'createEndpoint ab {"sticky_header":"x-user","traffic":{"a":90,"b":10}}',
    ]);
    const again = await planSpec('test.yaml', spec(TWO), open);
    expect(again.targets[0]!.changes).toEqual([]);
    expect(formatPlan(again)).toBe('Target fake: no changes\nNo changes: the targets match the spec.\n');
  });

  it('compares config as text (2 and "2" are the same), names the fields that differ, and moves traffic', async () => {
    const { client, open } = await fakeWith(TWO);
    const changed = TWO.replace('replicas: 2 }', 'replicas: "2", timeout: 30 }')
      .replace('model_uri: /models/b', 'model_uri: /models/b2')
      .replace('a: 90, b: 10', 'a: 50, b: 50');
    const plan = await planSpec('test.yaml', spec(changed), open);
    expect(formatPlan(plan)).toBe(
      'Target fake:\n' +
        '  ~ update deployment a: config.timeout (none) → 30\n' +
        '  ~ update deployment b: model_uri /models/b → /models/b2\n' +
        '  ~ update endpoint ab: traffic a 90→50, b 10→50\n' +
        'Plan: 0 to create, 3 to update, 0 to delete.\n',
    );
    await applyPlan(plan, open);
    // The whole config goes (targets merge it); the model only when it changes.
    expect(client.calls).toEqual([
      'updateDeployment a {"config":{"replicas":"2","timeout":30}}',
      'updateDeployment b {"modelUri":"/models/b2"}',
      'updateEndpoint ab {"sticky_header":"x-user","traffic":{"a":50,"b":50}}',
    ]);
    expect((await planSpec('test.yaml', spec(changed), open)).targets[0]!.changes).toEqual([]);
  });

  it('says what a target does not report, and does not guess: no update from config alone', async () => {
    const { open } = await fakeWith(TWO, { reportsConfig: false });
    const plan = await planSpec('test.yaml', spec(TWO.replace('replicas: 2', 'replicas: 3')), open);
    expect(plan.targets[0]!.changes).toEqual([]);
    expect(plan.targets[0]!.not_compared).toEqual(['deployment config']);
    expect(formatPlan(plan)).toContain('Not compared, as the target does not report them: deployment config');
  });

  it('a flavor change sends the model with it; an endpoint key set to null must be absent', async () => {
    const { client, open } = await fakeWith(TWO);
    const changed = TWO.replace('flavor: onnx', 'flavor: python_function').replace('sticky_header: x-user', 'sticky_header: null');
    const plan = await planAndApply(changed, open);
    expect(plan.targets[0]!.changes.map((c) => c.action)).toEqual(['update', 'update']);
    expect(client.calls).toEqual([
      'updateDeployment a {"modelUri":"/models/a","flavor":"python_function","config":{"replicas":2}}',
      'updateEndpoint ab {"sticky_header":null,"traffic":{"a":90,"b":10}}',
    ]);
    expect((await planSpec('test.yaml', spec(changed), open)).targets[0]!.changes).toEqual([]);
  });

  it('leaves what the spec does not name alone; --prune deletes it, endpoints before deployments', async () => {
    const { client, open } = await fakeWith(TWO);
    await client.createDeployment('stray', '/models/s');
    const onlyA =
      'targets:\n  - target: fake\n    deployments:\n      a: { model_uri: /models/a, flavor: onnx, config: { replicas: 2 } }\n';
    const kept = await planSpec('test.yaml', spec(onlyA), open);
    expect(kept.targets[0]!.changes).toEqual([]);
    expect(kept.targets[0]!.unmanaged).toEqual(['deployment b', 'deployment stray', 'endpoint ab']);
    client.calls.length = 0;
    const pruned = await planAndApply(onlyA, open, true);
    expect(formatPlan(pruned)).toContain('  - delete endpoint ab\n  - delete deployment b\n  - delete deployment stray\n');
    expect(client.calls).toEqual(['deleteEndpoint ab', 'deleteDeployment b', 'deleteDeployment stray']);
    expect([...client.deployments.keys()]).toEqual(['a']);
  });

  it('refuses to prune a deployment an endpoint of the spec routes to, and a route to nothing', async () => {
    const { open } = await fakeWith(TWO);
    const withoutB = TWO.replace('      b: { model_uri: /models/b }\n', '');
    await expect(planSpec('test.yaml', spec(withoutB), open, { prune: true })).rejects.toThrow(
      'fake: --prune would delete deployment b, which endpoint ab routes to; declare it in the spec',
    );
    // Without --prune, b stays and may be routed to.
    expect((await planSpec('test.yaml', spec(withoutB), open)).targets[0]!.unmanaged).toEqual(['deployment b']);
    await expect(planSpec('test.yaml', spec(withoutB.replace('b: 10', 'c: 10')), open)).rejects.toThrow(
      'endpoint ab routes to deployment c, which neither the spec nor the target has',
    );
  });

  it('refuses what a target cannot do before anything is read or changed, on any target', async () => {
    const first = new FakeClient('first');
    const noEndpoints = new FakeClient('plain');
    const open = targets({ first: { client: first, capabilities: ALL }, plain: { client: noEndpoints, capabilities: {} } });
    const text = `targets:
  - target: first
    deployments: { x: { model_uri: /m } }
  - target: plain
    deployments:
      y: { model_uri: /m, rollout: { strategy: canary, steps: [{ weight: 10, bakeSeconds: 60 }] } }
    endpoints: { e: { traffic: { y: 100 } } }
  - target: missing
`;
    const error = await failure(planSpec('test.yaml', spec(text), open));
    expect(error).toBeInstanceOf(MlDeployError);
    expect(error.code).toBe('NOT_IMPLEMENTED');
    expect(error.details?.['problems']).toEqual([
      "plain: the spec declares endpoints (e), but this target has none (its plugin lacks the 'endpoints' capability)",
      "plain: deployment y has a canary rollout, but this target cannot run rollouts (its plugin lacks the 'rollouts' capability); use strategy all-at-once there",
      'missing: No plugin found for "missing"',
    ]);
    expect(error.message).toMatch(/^The spec cannot be applied, and nothing was changed: /);
    expect([first.calls, noEndpoints.calls]).toEqual([[], []]);
  });

  it('stops at the first failure, saying what was done and what was not', async () => {
    const first = new FakeClient('first');
    const second = new FakeClient('second', { failing: ['createDeployment bad'] });
    const open = targets({ first: { client: first, capabilities: ALL }, second: { client: second, capabilities: ALL } });
    const text = `targets:
  - target: first
    deployments: { x: { model_uri: /m } }
  - target: second
    deployments: { ok: { model_uri: /m }, bad: { model_uri: /m }, later: { model_uri: /m } }
`;
    const plan = await planSpec('test.yaml', spec(text), open);
    const error = await failure(applyPlan(plan, open));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toBe(
      'Apply stopped at second, on "create deployment bad: model_uri /m": fake refuses createDeployment bad. ' +
        'Done: first: create deployment x: model_uri /m; second: create deployment ok: model_uri /m. ' +
        'Not done: second: create deployment bad: model_uri /m; second: create deployment later: model_uri /m.',
    );
    expect(error.hint).toBe('fake hint');
    expect(error.details?.['done']).toHaveLength(2);
    expect(second.calls).toEqual(['createDeployment ok', 'createDeployment bad']);
    expect([...first.deployments.keys()]).toEqual(['x']);
  });

  describe('rollouts (FAKE rollout engine)', () => {
    const CANARY = `targets:
  - target: fake
    deployments: { a: { model_uri: /models/a }, b: { model_uri: /models/b } }
    endpoints:
      ab:
        traffic: { a: 100 }
        rollout: { strategy: canary, steps: [{ weight: 10, bakeSeconds: 60 }, { weight: 50, bakeSeconds: 60 }] }
`;
    const toB = CANARY.replace('traffic: { a: 100 }', 'traffic: { b: 100 }');

    it('a traffic change with a canary policy starts a rollout to the deployment at 100 and waits for it, logging its decisions', async () => {
      const { client, open } = await fakeWith(CANARY, { rolloutStates: ['running', 'running', 'succeeded'] });
      const plan = await planSpec('test.yaml', spec(toB), open);
      expect(formatPlan(plan)).toContain('  ~ update endpoint ab: traffic a 100→0, b 0→100 (by a canary rollout to b)\n');
      const lines: string[] = [];
      const result = await applyPlan(plan, open, { pollIntervalMs: 1, log: (l) => lines.push(l) });
      expect(client.calls).toEqual(['startRollout ab b canary']);
      expect(lines).toEqual([
        'fake: started rollout r1 of endpoint ab to b (canary)',
        'fake: rollout r1 of endpoint ab: step 0 promote: step 0 healthy',
        'fake: rollout r1 of endpoint ab: step 1 promote: step 1 healthy',
        'fake: rollout r1 of endpoint ab: step 2 complete: step 2 healthy',
        'fake: rollout r1 is succeeded',
        'fake: update endpoint ab: traffic a 100→0, b 0→100 (by a canary rollout to b): done',
      ]);
      expect(result.rollouts.map((r) => r.state)).toEqual(['succeeded']);
      expect((await planSpec('test.yaml', spec(toB), open)).targets[0]!.changes).toEqual([]);
    });

    it('a rollout that rolls back fails the apply with the gate that failed', async () => {
      const { open } = await fakeWith(CANARY, { rolloutStates: ['running', 'rolled_back'] });
      const plan = await planSpec('test.yaml', spec(toB), open);
      const error = await failure(applyPlan(plan, open, { pollIntervalMs: 1 }));
      expect(error.code).toBe('INVALID_STATE');
      expect(error.message).toContain('The rollout r1 of endpoint ab to b ended rolled_back: p99 latency 412 ms over the gate of 200 ms');
      expect(error.details?.['not_done']).toEqual(['fake: update endpoint ab: traffic a 100→0, b 0→100 (by a canary rollout to b)']);
    });

    it('refuses, at plan time, a staged rollout whose new traffic is split', async () => {
      const { client, open } = await fakeWith(CANARY);
      await expect(planSpec('test.yaml', spec(CANARY.replace('traffic: { a: 100 }', 'traffic: { a: 50, b: 50 }')), open)).rejects.toThrow(
        'fake: endpoint ab has a canary rollout, which moves all traffic to one deployment, but its new traffic splits it (a 50, b 50); give one deployment 100, or use strategy all-at-once',
      );
      expect(client.calls).toEqual([]);
    });

    it('an endpoint without the rollouts capability: a gated policy is refused, an ungated one is stepped by mldeploy', async () => {
      const client = new FakeClient('fake');
      const open = targets({ fake: { client, capabilities: { endpoints: true } } });
      const gated = CANARY.replace('bakeSeconds: 60 }] }', 'bakeSeconds: 60 }], gates: { maxErrorRate: 0.01 } }');
      await expect(planSpec('test.yaml', spec(gated), open)).rejects.toThrow(
        'fake: endpoint ab has a canary rollout with gates, but this target supplies no live metrics to mldeploy',
      );
      const plan = await planSpec('test.yaml', spec(CANARY), open);
      expect(plan.targets[0]!.changes.find((c) => c.kind === 'endpoint')).toMatchObject({ action: 'create' });
      const noEndpoints = targets({ fake: { client, capabilities: {} } });
      await expect(planSpec('test.yaml', spec(CANARY), noEndpoints)).rejects.toThrow("lacks the 'endpoints' capability");
    });
  });
});
