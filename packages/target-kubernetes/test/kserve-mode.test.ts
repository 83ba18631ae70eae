import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/mlflow-scoring-server.js';
import { startMlflowTrackingServer } from '../../../test/support/mlflow-tracking-server.js';
import { startProcessServer, type ProcessServer } from '../../../test/support/process-server.js';
import { CLI_BIN, FIXTURE_MODELS } from '../../../test/support/paths.js';
import { cleanEnv, runCli, type CliResult } from '../../../test/support/run-cli.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { RBAC_RULES } from '../src/target/rbac.js';
import { expectIrisLabels } from './support/iris.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const IRIS = path.join(FIXTURE_MODELS, 'onnx-iris');
const NS = 'serving';
const TARGET = `kubernetes:/mldeploy/${NS}`;
const ISVC = `/apis/serving.kserve.io/v1beta1/namespaces/${NS}/inferenceservices`;

interface InferenceService {
  metadata: { name: string; generation: number; annotations: Record<string, string> };
  spec: {
    predictor: { canaryTrafficPercent?: number; minReplicas?: number; model: { storageUri: string; modelFormat: { name: string } } };
  };
}

/**
 * The kubernetes target's `kserve` mode against a real API server with KServe v0.20's own
 * InferenceService CRD (so its schema validates what mldeploy writes). KServe's controller does
 * not run here: the tests play it, patching status the way it does, and check how mldeploy reacts.
 */
describe('kubernetes target, kserve mode (real API server, KServe v0.20 CRD; the test plays KServe)', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  let kubeconfig: string;
  let runtime: ProcessServer;
  let runtimeUrl: string;
  const cli = (...args: string[]): Promise<CliResult> =>
    runCli([...args.slice(0, 1), '-t', TARGET, ...args.slice(1)], { env: { KUBECONFIG: kubeconfig }, timeoutMs: 120_000 });
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await cli(...args, '--json');
    if (result.code !== 0) throw new Error(`mldeploy ${args.join(' ')} failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  const get = async (name: string): Promise<InferenceService | undefined> => {
    const answer = await cluster.api('GET', `${ISVC}/${name}`);
    return answer.status === 200 ? (answer.body as InferenceService) : undefined;
  };
  /** Waits for mldeploy to have written generation `generation` (or later) of `name`. */
  const written = (name: string, generation = 1): Promise<InferenceService> =>
    waitFor(`InferenceService ${name} generation ${generation}`, async () => {
      const service = await get(name);
      return service !== undefined && service.metadata.generation >= generation ? service : undefined;
    });
  /** What KServe's controller writes to status, for the generation it has seen. */
  const report = async (name: string, status: Record<string, unknown>): Promise<void> => {
    const service = (await get(name))!;
    const patched = await cluster.api('PATCH', `${ISVC}/${name}/status`, {
      status: { observedGeneration: service.metadata.generation, ...status },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
  };
  const ready = (revision: string, traffic: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    url: runtimeUrl,
    address: { url: runtimeUrl },
    conditions: [
      { type: 'PredictorReady', status: 'True', lastTransitionTime: new Date().toISOString() },
      { type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() },
    ],
    components: { predictor: { latestCreatedRevision: revision, latestReadyRevision: revision, traffic, ...extra } },
  });

  beforeAll(async () => {
    cluster = await startTestCluster('kserve-mode');
    kubeconfig = await cluster.accountWith({ context: 'mldeploy', namespace: NS, rules: RBAC_RULES });
    // A real serving runtime stands in for the predictor's pods: status.url leads to it, as KServe's does to its gateway.
    const port = await freePort();
    runtimeUrl = `http://127.0.0.1:${port}`;
    runtime = await startProcessServer({
      command: process.execPath,
      args: [CLI_BIN, 'models', 'serve', '-m', IRIS, '--port', String(port)],
      env: cleanEnv(),
      readyUrl: `${runtimeUrl}/ping`,
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    await cluster?.stop();
  });

  it('without KServe in the cluster, create in kserve mode says so and what to do', async () => {
    const result = await cli('create', '--name', 'iris', '-m', 's3://models/iris', '-C', 'mode=kserve');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('INVALID_STATE: KServe is not installed in this cluster');
    expect(result.stderr).toContain('-C mode=deployment');
  });

  it('with the CRD installed, create writes an InferenceService KServe accepts and waits until KServe reports it ready', async () => {
    const crd = JSON.parse(
      gunzipSync(readFileSync(path.join(import.meta.dirname, 'fixtures', 'kserve-v0.20.0-inferenceservices.crd.json.gz'))).toString('utf8'),
    ) as unknown;
    expect((await cluster.api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(201);
    await waitFor('the InferenceService CRD to be served', async () =>
      (await cluster.api('GET', ISVC)).status === 200 ? true : undefined,
    );

    const creating = cli('create', '--name', 'iris', '-m', 's3://models/iris', '-C', 'mode=kserve', '-C', 'replicas=2', '-C', 'timeout=60');
    const service = await written('iris');
    expect(service.spec.predictor).toMatchObject({
      minReplicas: 2,
      model: { storageUri: 's3://models/iris', modelFormat: { name: 'mlflow' } },
    });
    await report(
      'iris',
      ready('iris-predictor-00001', [{ revisionName: 'iris-predictor-00001', percent: 100, latestRevision: true }], {
        latestRolledoutRevision: 'iris-predictor-00001',
      }),
    );
    const created = await creating;
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain('Waiting for iris');
    expect(await json<Record<string, unknown>>('get', '--name', 'iris')).toMatchObject({
      name: 'iris',
      mode: 'kserve',
      state: 'ready',
      url: `${runtimeUrl}/invocations`,
      traffic: [{ revision: 'iris-predictor-00001', percent: 100, latest: true }],
    });
    expect((await json<{ name: string; mode: string }[]>('list')).map((d) => [d.name, d.mode])).toEqual([['iris', 'kserve']]);
  });

  it('predict posts to the URL KServe reports and returns the real numbers', async () => {
    await expectIrisLabels(cli, 'iris');
  });

  it("a canary update sets canaryTrafficPercent and shows KServe's split; rollback sends all traffic back", async () => {
    const updating = cli('update', '--name', 'iris', '-m', 's3://models/iris-v2', '-C', 'canary_traffic_percent=10');
    const service = await written('iris', 2);
    expect(service.spec.predictor).toMatchObject({ canaryTrafficPercent: 10, model: { storageUri: 's3://models/iris-v2' } });
    const split = [
      { tag: 'prev', revisionName: 'iris-predictor-00001', percent: 90 },
      { tag: 'latest', revisionName: 'iris-predictor-00002', percent: 10, latestRevision: true },
    ];
    await report(
      'iris',
      ready('iris-predictor-00002', split, {
        latestRolledoutRevision: 'iris-predictor-00001',
        previousRolledoutRevision: 'iris-predictor-00001',
      }),
    );
    const updated = await updating;
    expect(updated.code, updated.stderr).toBe(0);
    expect(await json<Record<string, unknown>>('get', '--name', 'iris')).toMatchObject({
      canary_traffic_percent: 10,
      model_uri: 's3://models/iris-v2',
      traffic: [
        { revision: 'iris-predictor-00001', percent: 90, tag: 'prev' },
        { revision: 'iris-predictor-00002', percent: 10, tag: 'latest' },
      ],
    });
    expect(await json<{ revision: string; traffic_percent: number }[]>('history', '--name', 'iris')).toEqual([
      expect.objectContaining({ revision: 'iris-predictor-00001', traffic_percent: 90 }),
      expect.objectContaining({ revision: 'iris-predictor-00002', traffic_percent: 10 }),
    ]);

    const rolling = cli('rollback', '--name', 'iris');
    const rolled = await written('iris', 3);
    expect(rolled.spec.predictor.canaryTrafficPercent).toBe(0);
    await report(
      'iris',
      ready('iris-predictor-00002', [{ revisionName: 'iris-predictor-00001', percent: 100 }], {
        latestRolledoutRevision: 'iris-predictor-00001',
      }),
    );
    const result = await rolling;
    expect(result.code, result.stderr).toBe(0);
    // The record is the stable model's again, so that a later update without -m does not promote the canary's.
    expect(await json<Record<string, unknown>>('get', '--name', 'iris')).toMatchObject({
      model_uri: 's3://models/iris',
      traffic: [{ revision: 'iris-predictor-00001', percent: 100 }],
    });
  });

  it('a canary KServe reports failed fails the update with its reason and message', async () => {
    // What KServe reports of a canary revision (00003) that failed: the rolled-out 00001 keeps all traffic.
    const failedCanary = {
      latestCreatedRevision: 'iris-predictor-00003',
      latestReadyRevision: 'iris-predictor-00001',
      latestRolledoutRevision: 'iris-predictor-00001',
      traffic: [{ revisionName: 'iris-predictor-00001', percent: 100 }],
    };
    const updating = cli('update', '--name', 'iris', '-m', 's3://models/broken', '-C', 'canary_traffic_percent=20');
    await written('iris', 4);
    await report('iris', {
      url: runtimeUrl,
      conditions: [
        {
          type: 'PredictorReady',
          status: 'False',
          reason: 'RevisionFailed',
          message: 'Revision "iris-predictor-00003" failed with message: model load failed.',
        },
        {
          type: 'Ready',
          status: 'False',
          reason: 'RevisionFailed',
          message: 'Revision "iris-predictor-00003" failed with message: model load failed.',
        },
      ],
      components: { predictor: failedCanary },
    });
    const result = await updating;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'INVALID_STATE: InferenceService "iris" failed: RevisionFailed: Revision "iris-predictor-00003" failed with message: model load failed. — KServe keeps traffic on the last ready revision.',
    );

    // Rolling the failed canary back ends once KServe sends everything to the rolled-out revision
    // (the failed one stays the newest, never ready), and the record is the stable model's again.
    const rolling = cli('rollback', '--name', 'iris');
    expect((await written('iris', 5)).spec.predictor.canaryTrafficPercent).toBe(0);
    await report('iris', {
      url: runtimeUrl,
      conditions: [{ type: 'Ready', status: 'True' }],
      components: { predictor: failedCanary },
    });
    const rolled = await rolling;
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(await json<Record<string, unknown>>('get', '--name', 'iris')).toMatchObject({ model_uri: 's3://models/iris' });
  });

  it('an InferenceService of the same name that mldeploy did not make is never deleted or changed', async () => {
    const theirs = {
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name: 'theirs' },
      spec: { predictor: { model: { name: 'theirs', modelFormat: { name: 'sklearn' }, storageUri: 'gs://theirs/model' } } },
    };
    expect((await cluster.api('POST', ISVC, theirs)).status).toBe(201);
    expect((await cli('delete', '--name', 'theirs')).code).toBe(0);
    const created = await cli('create', '--name', 'theirs', '-m', 's3://models/iris', '-C', 'mode=kserve');
    expect(created.code).toBe(1);
    expect(created.stderr).toContain('RESOURCE_ALREADY_EXISTS');
    expect((await get('theirs'))?.spec.predictor.model.storageUri).toBe('gs://theirs/model');
    expect((await cli('get', '--name', 'theirs')).stderr).toContain('RESOURCE_DOES_NOT_EXIST');
  });

  it("with kserve_deployment_mode=Standard a canary takes v0.20's spec.canary[] form beside the stable predictor; rollback removes it; a canary whose model fails to load fails the update", async () => {
    const creating = cli('create', '--name', 'std', '-m', 's3://models/iris', '-C', 'mode=kserve', '-C', 'kserve_deployment_mode=Standard');
    const created = await written('std');
    expect(created.metadata.annotations['serving.kserve.io/deploymentMode']).toBe('Standard');
    await report('std', ready('std-predictor', [{ revisionName: 'std-predictor', percent: 100 }]));
    expect((await creating).code).toBe(0);

    const updating = cli('update', '--name', 'std', '-m', 's3://models/iris-v2', '-C', 'canary_traffic_percent=25');
    const canaried = (await written('std', 2)) as InferenceService & {
      spec: { canary?: { trafficPercent: number; predictor: { model: { storageUri: string } } }[] };
    };
    expect(canaried.spec.predictor.model.storageUri).toBe('s3://models/iris');
    expect(canaried.spec.canary?.map((c) => [c.trafficPercent, c.predictor.model.storageUri])).toEqual([[25, 's3://models/iris-v2']]);
    await report('std', {
      ...ready('std-predictor', [{ revisionName: 'std-predictor', percent: 100 }]),
      canaryStatuses: [{ name: 'std-canary-0', ready: true, trafficPercent: 25 }],
    });
    expect((await updating).code).toBe(0);
    expect(await json<Record<string, unknown>>('get', '--name', 'std')).toMatchObject({
      canary_traffic_percent: 25,
      traffic: [
        { revision: 'stable', percent: 75 },
        { revision: 'std-canary-0', percent: 25, ready: true },
      ],
    });

    const rolling = cli('rollback', '--name', 'std');
    const rolled = (await written('std', 3)) as InferenceService & { spec: { canary?: unknown } };
    expect(rolled.spec.canary).toBeUndefined();
    expect(rolled.spec.predictor.model.storageUri).toBe('s3://models/iris');
    await report('std', ready('std-predictor', [{ revisionName: 'std-predictor', percent: 100 }]));
    expect((await rolling).code).toBe(0);

    const failing = cli('update', '--name', 'std', '-m', 's3://models/broken', '-C', 'canary_traffic_percent=10');
    await written('std', 4);
    await report('std', {
      ...ready('std-predictor', [{ revisionName: 'std-predictor', percent: 100 }]),
      canaryStatuses: [
        {
          name: 'std-canary-0',
          ready: false,
          trafficPercent: 10,
          modelStatus: {
            transitionStatus: 'BlockedByFailedLoad',
            lastFailureInfo: { reason: 'ModelLoadFailed', message: 'no MLmodel at s3://models/broken' },
          },
        },
      ],
    });
    const failed = await failing;
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('InferenceService "std" failed: ModelLoadFailed: no MLmodel at s3://models/broken');
    expect((await cli('delete', '--name', 'std')).code).toBe(0);
  });

  it('a registry model whose files are in storage is resolved through the real MLflow registry and read by KServe from there', async () => {
    const registry = await startMlflowTrackingServer();
    try {
      const rest = async (pathname: string, body: unknown): Promise<unknown> => {
        const response = await fetch(`${registry.url}/api/2.0/mlflow/${pathname}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(response.status, await response.clone().text()).toBe(200);
        return response.json();
      };
      await rest('registered-models/create', { name: 'flowers' });
      await rest('model-versions/create', { name: 'flowers', source: 's3://models/flowers/v1' });
      await rest('registered-models/alias', { name: 'flowers', alias: 'prod', version: '1' });
      const creating = runCli(['create', '-t', TARGET, '--name', 'flowers', '-m', 'models:/flowers@prod', '-C', 'mode=kserve'], {
        env: { KUBECONFIG: kubeconfig, MLFLOW_TRACKING_URI: registry.url },
        timeoutMs: 120_000,
      });
      const service = await written('flowers');
      expect(service.spec.predictor.model.storageUri).toBe('s3://models/flowers/v1');
      await report('flowers', ready('flowers-predictor-00001', [{ revisionName: 'flowers-predictor-00001', percent: 100 }]));
      expect((await creating).code).toBe(0);
      expect(await json<Record<string, unknown>>('get', '--name', 'flowers')).toMatchObject({
        model_uri: 'models:/flowers@prod',
        model_version: '1',
      });
      const missing = await runCli(['create', '-t', TARGET, '--name', 'nothing', '-m', 'models:/flowers@staging', '-C', 'mode=kserve'], {
        env: { KUBECONFIG: kubeconfig, MLFLOW_TRACKING_URI: registry.url },
      });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`RESOURCE_DOES_NOT_EXIST: The registry at ${registry.url} has no models:/flowers@staging`);
      expect((await cli('delete', '--name', 'flowers')).code).toBe(0);
    } finally {
      await registry.stop();
    }
  });

  it('a registry model KServe cannot read is refused before anything is written, saying what to do', async () => {
    const result = await cli('create', '--name', 'registry', '-m', 'models:/iris@prod', '-C', 'mode=kserve');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('INVALID_PARAMETER_VALUE: KServe reads models from storage it can reach');
    expect(await get('registry')).toBeUndefined();
  });

  it('delete removes the InferenceService; deleting again succeeds', async () => {
    expect((await cli('delete', '--name', 'iris')).code).toBe(0);
    await waitFor('the InferenceService to be gone', async () => ((await get('iris')) === undefined ? true : undefined));
    expect((await cli('delete', '--name', 'iris')).code).toBe(0);
  });
});
