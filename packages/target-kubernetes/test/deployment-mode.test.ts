import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDeployClient, resolveConfig } from '@mldeploy/core';
import { conformanceCases } from '@mldeploy/core/testing';
import { freePort } from '../../../test/support/mlflow-scoring-server.js';
import { startProcessServer, type ProcessServer } from '../../../test/support/process-server.js';
import { CLI_BIN, FIXTURE_MODELS } from '../../../test/support/paths.js';
import { cleanEnv, runCli, type CliResult } from '../../../test/support/run-cli.js';
import { tempFile } from '../../../test/support/temp.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { RBAC_RULES } from '../src/target/rbac.js';
import { expectIrisLabels } from './support/iris.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const IRIS = path.join(FIXTURE_MODELS, 'onnx-iris');
const NS = 'ml';
const TARGET = `kubernetes:/mldeploy/${NS}`;

/**
 * The kubernetes target's `deployment` mode against a real API server, controller manager and
 * scheduler; kwok plays the kubelets, so pods become Ready without running (predictions go to a
 * real serving runtime on this machine, see below).
 */
let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster('deployment-mode');
});
afterAll(async () => {
  await cluster?.stop();
});

// kwok marks pods ready with a latency of its own (up to ~10 s each, more under load): rollouts get minutes.
describe('kubernetes target, deployment mode (real API server, kwok nodes)', { timeout: 180_000 }, () => {
  let kubeconfig: string;
  const cli = (...args: string[]): Promise<CliResult> =>
    runCli([...args.slice(0, 1), '-t', TARGET, ...args.slice(1)], { env: { KUBECONFIG: kubeconfig }, timeoutMs: 120_000 });
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await cli(...args, '--json');
    if (result.code !== 0) throw new Error(`mldeploy ${args.join(' ')} failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };

  beforeAll(async () => {
    // As a user would run it: a service account with exactly the rules 'mldeploy help -t kubernetes' lists.
    kubeconfig = await cluster.accountWith({ context: 'mldeploy', namespace: NS, rules: RBAC_RULES });
  });
  it('create rolls the Deployment out through the real controllers; get and list read it back live', async () => {
    const created = await cli('create', '--name', 'iris', '-m', 's3://models/iris', '-C', 'replicas=2', '-C', 'cpu=250m');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain('Creating iris (deployment) in namespace ml');
    const view = await json<Record<string, unknown>>('get', '--name', 'iris');
    expect(view).toMatchObject({
      name: 'iris',
      mode: 'deployment',
      namespace: NS,
      state: 'ready',
      replicas: 2,
      ready_replicas: 2,
      model_uri: 's3://models/iris',
    });
    expect(view['config']).toEqual({ replicas: '2', cpu: '250m' });
    expect((await json<{ name: string }[]>('list')).map((d) => d.name)).toEqual(['iris']);
    // What is in the cluster: the admin's view of the objects mldeploy made.
    const deployment = (await cluster.api('GET', `/apis/apps/v1/namespaces/${NS}/deployments/iris`)).body as {
      spec: { strategy: unknown; template: { spec: { containers: { resources: unknown }[] } } };
    };
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(deployment.spec.template.spec.containers[0]!.resources).toEqual({
      requests: { cpu: '250m', memory: '2Gi' },
      limits: { cpu: '250m', memory: '2Gi' },
    });
  });

  it('create of a name that exists is RESOURCE_ALREADY_EXISTS and changes nothing', async () => {
    const again = await cli('create', '--name', 'iris', '-m', 's3://models/other');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('RESOURCE_ALREADY_EXISTS');
    expect((await json<{ model_uri: string }>('get', '--name', 'iris')).model_uri).toBe('s3://models/iris');
  });

  it("an update that cannot roll out (unschedulable) fails with the scheduler's reason and leaves the old ReplicaSet serving", async () => {
    const failed = await cli('update', '--name', 'iris', '-m', 's3://models/iris-v2', '-C', 'cpu=64', '-C', 'timeout=10');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /DEADLINE_EXCEEDED: Deployment "iris" did not roll out within 10 s: still waiting for 1 of 2 replica\(s\) updated; pod iris-[a-z0-9-]+ is not scheduled: 0\/1 nodes are available: 1 Insufficient cpu/,
    );
    expect(failed.stderr).toContain('Rolling back iris: the previous revision goes on serving.');
    await waitFor('the rollback to finish', async () => {
      const view = await json<{ state: string; model_uri: string; ready_replicas: number }>('get', '--name', 'iris');
      return view.state === 'ready' && view.model_uri === 's3://models/iris' && view.ready_replicas === 2 ? true : undefined;
    });
  });

  it('an update rolls out a new ReplicaSet with no replica down', async () => {
    const updated = await cli('update', '--name', 'iris', '-m', 's3://models/iris-v3', '-C', 'replicas=1');
    expect(updated.code, updated.stderr).toBe(0);
    expect(await json<Record<string, unknown>>('get', '--name', 'iris')).toMatchObject({
      state: 'ready',
      model_uri: 's3://models/iris-v3',
      replicas: 1,
      config: { replicas: '1', cpu: '250m' },
    });
  });

  it("history lists the Deployment's ReplicaSets; rollback rolls the one before out again, as a new revision", async () => {
    const before = await json<{ revision: number; current: boolean; model_uri: string }[]>('history', '--name', 'iris');
    expect(before.at(-1)).toMatchObject({ current: true, model_uri: 's3://models/iris-v3' });
    expect(before.map((r) => r.model_uri)).toEqual(expect.arrayContaining(['s3://models/iris', 's3://models/iris-v2']));
    const rolled = await cli('rollback', '--name', 'iris');
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(await json<Record<string, unknown>>('get', '--name', 'iris')).toMatchObject({ state: 'ready', model_uri: 's3://models/iris' });
    const after = await json<{ revision: number; current: boolean; model_uri: string }[]>('history', '--name', 'iris');
    expect(after.at(-1)).toMatchObject({ current: true, model_uri: 's3://models/iris' });
    expect(after.at(-1)!.revision).toBeGreaterThan(before.at(-1)!.revision);
    const missing = await cli('rollback', '--name', 'iris', '--to-revision', '99');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/RESOURCE_DOES_NOT_EXIST: Deployment "iris" has no revision 99 \(kept: [\d, ]+\)/);
  });

  it("predict reaches the model's pods through the API server's service proxy, with the deployment's token", async (context) => {
    // kwok runs no container: a real serving runtime on this machine stands in for the pod's
    // process, at the pod's IP (the cluster gives every pod this machine's address) and its container port.
    const address = cluster.podIP;
    if (address === undefined) context.skip('this machine has no non-loopback address for pods to have');
    const secret = (await cluster.api('GET', `/api/v1/namespaces/${NS}/secrets/iris-mldeploy-token`)).body as { data: { token: string } };
    const token = Buffer.from(secret.data.token, 'base64').toString('utf8');
    let runtime: ProcessServer | undefined;
    try {
      // Beyond loopback the runtime refuses to serve without a token: it gets the deployment's, as the pod does.
      runtime = await startProcessServer({
        command: process.execPath,
        args: [CLI_BIN, 'models', 'serve', '-m', IRIS, '--host', address!, '--port', '8080'],
        env: cleanEnv({ MLDEPLOY_SERVER_TOKEN: token }),
        readyUrl: `http://${address}:8080/ping`,
      });
      await expectIrisLabels(cli, 'iris');
      // Without the token the pods refuse: the runtime in the pod is not open to the cluster.
      const direct = await fetch(`http://${address}:8080/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"inputs": [[5.1, 3.5, 1.4, 0.2]]}',
      });
      expect(direct.status).toBe(401);
    } finally {
      await runtime?.stop();
    }
  });

  it('a Deployment whose pods Kubernetes refuses (an invalid image name) fails at once with the reason, and leaves nothing behind', async () => {
    const result = await cli('create', '--name', 'badimage', '-m', 's3://models/iris', '-C', 'image= spaced');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/INVALID_STATE: Deployment "badimage" failed to roll out: FailedCreate: .*spec\.containers\[0\]\.image/);
    for (const object of [
      `/apis/apps/v1/namespaces/${NS}/deployments/badimage`,
      `/api/v1/namespaces/${NS}/secrets/badimage-mldeploy-token`,
    ]) {
      await waitFor(`${object} to be gone`, async () => ((await cluster.api('GET', object)).status === 404 ? true : undefined));
    }
  });

  it('a service account without the rules gets PERMISSION_DENIED naming the verb and resource', async () => {
    const bare = await cluster.accountWith({ context: 'nobody', namespace: NS, rules: [] });
    const result = await runCli(['list', '-t', `kubernetes:/nobody/${NS}`], { env: { KUBECONFIG: bare } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'PERMISSION_DENIED: Kubernetes refused to list deployments.apps in namespace "ml": the role lacks "list" on "deployments.apps"',
    );
  });

  it('an API server that cannot be reached is a clear error naming it and the context', async () => {
    const port = await freePort();
    const dead = cluster.kubeconfig({ name: 'dead', token: 'x' });
    const file = tempFile('dead.kubeconfig', readFileSync(dead, 'utf8').replace(cluster.server, `https://127.0.0.1:${port}`));
    const result = await runCli(['list', '-t', 'kubernetes:/dead/ml'], { env: { KUBECONFIG: file } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `TEMPORARILY_UNAVAILABLE: Cannot reach the Kubernetes API server https://127.0.0.1:${port} (context "dead"): ECONNREFUSED`,
    );
  });

  it('delete removes the Deployment, its Service and its token Secret; deleting again succeeds', async () => {
    expect((await cli('delete', '--name', 'iris')).code).toBe(0);
    for (const object of [
      `/apis/apps/v1/namespaces/${NS}/deployments/iris`,
      `/api/v1/namespaces/${NS}/services/iris`,
      `/api/v1/namespaces/${NS}/secrets/iris-mldeploy-token`,
    ]) {
      await waitFor(`${object} to be gone`, async () => ((await cluster.api('GET', object)).status === 404 ? true : undefined));
    }
    expect((await cli('delete', '--name', 'iris')).code).toBe(0);
    const missing = await cli('get', '--name', 'iris');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('RESOURCE_DOES_NOT_EXIST: Deployment "iris" does not exist in namespace "ml"');
  });
});

describe('kubernetes target, deployment mode: the conformance kit', { timeout: 180_000 }, () => {
  const ns = 'conformance';
  let kubeconfig: string;
  let runtime: ProcessServer | undefined;
  const rows = [
    [5.1, 3.5, 1.4, 0.2],
    [6.4, 3.2, 4.5, 1.5],
    [6.7, 3.1, 5.6, 2.4],
  ];

  beforeAll(async () => {
    kubeconfig = await cluster.accountWith({ context: 'mldeploy', namespace: ns, rules: RBAC_RULES });
    // One token for every deployment the kit makes (token_secret), so that one runtime stands in for all their pods.
    const token = 'conformance-token';
    const made = await cluster.api('POST', `/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'shared-token' },
      stringData: { token },
    });
    expect(made.status).toBe(201);
    if (cluster.podIP !== undefined) {
      runtime = await startProcessServer({
        command: process.execPath,
        args: [CLI_BIN, 'models', 'serve', '-m', IRIS, '--host', cluster.podIP, '--port', '8080'],
        env: cleanEnv({ MLDEPLOY_SERVER_TOKEN: token }),
        readyUrl: `http://${cluster.podIP}:8080/ping`,
      });
    }
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  for (const c of conformanceCases({
    client: () =>
      getDeployClient(`kubernetes:/mldeploy/${ns}`, { config: resolveConfig({ env: { KUBECONFIG: kubeconfig }, cwd: process.cwd() }) }),
    modelUri: 's3://models/iris',
    updatedModelUri: 's3://models/iris-v2',
    config: { token_secret: 'shared-token', timeout: '60' },
    predictInput: { inputs: rows },
    concurrentInputs: rows.map((row) => ({ inputs: [row] })),
    checkPredictions: (response) => expect(response.predictions).toMatchObject({ label: [0, 1, 2] }),
    capabilities: { endpoints: false },
    namePrefix: 'conf',
  })) {
    it(
      c.name,
      async (context) => {
        if (cluster.podIP === undefined) context.skip('this machine has no non-loopback address for pods to have');
        await c.run();
      },
      180_000,
    );
  }
});

describe('kubernetes target, deployment mode: a spec file with plan, apply and --prune', { timeout: 300_000 }, () => {
  const ns = 'specs';
  let kubeconfig: string;
  const run = (...args: string[]): Promise<CliResult> => runCli(args, { env: { KUBECONFIG: kubeconfig }, timeoutMs: 240_000 });
  const spec = (deployments: string): string =>
    tempFile('spec.yaml', `apiVersion: mldeploy/v1\ntargets:\n  - target: kubernetes:/mldeploy/${ns}\n    deployments:\n${deployments}`);

  beforeAll(async () => {
    kubeconfig = await cluster.accountWith({ context: 'mldeploy', namespace: ns, rules: RBAC_RULES });
  });

  it('apply creates, a second apply changes nothing, a config change is an update, --prune deletes what the file dropped', async () => {
    const first = spec(
      '      iris: { model_uri: "s3://models/iris", config: { replicas: 1, cpu: 100m } }\n      extra: { model_uri: "s3://models/iris" }\n',
    );
    const applied = await run('apply', '-f', first);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toBe('Applied: 2 created, 0 updated, 0 deleted.\n');
    const again = await run('apply', '-f', first);
    expect(again.stdout).toBe('No changes: the targets match the spec.\n');
    const second = spec('      iris: { model_uri: "s3://models/iris", config: { replicas: 2, cpu: 100m } }\n');
    const plan = await run('plan', '-f', second, '--prune');
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('~ update deployment iris: config.replicas 1 → 2');
    expect(plan.stdout).toContain('- delete deployment extra');
    const pruned = await run('apply', '-f', second, '--prune');
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toBe('Applied: 0 created, 1 updated, 1 deleted.\n');
    const deployments = (await cluster.api('GET', `/apis/apps/v1/namespaces/${ns}/deployments`)).body as {
      items: { metadata: { name: string }; spec: { replicas: number } }[];
    };
    expect(deployments.items.map((d) => [d.metadata.name, d.spec.replicas])).toEqual([['iris', 2]]);
  });
});
