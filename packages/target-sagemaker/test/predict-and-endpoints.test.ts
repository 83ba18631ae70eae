import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { AddTagsCommand, ListTagsCommand } from '@aws-sdk/client-sagemaker';
import { getDeployClient, isMlDeployError, resolveConfig, type BaseDeploymentClient } from '@mldeploy/core';
import { conformanceCases } from '@mldeploy/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';
import { startSageMakerContainerLocally } from './support/container.js';
import { startMoto, type MotoServer } from './support/moto.js';
import { startRuntimeFrontEnd, type RuntimeFrontEnd } from './support/runtime-front-end.js';
import { ROLE, awsView, cliFor, type AwsView } from './support/sagemaker-harness.js';

const IRIS = path.join(FIXTURE_MODELS, 'onnx-iris');
const FLOWERS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.1, 5.6, 2.4],
];

let moto: MotoServer;
let aws: AwsView;
let container: { url: string; stop(): Promise<void> };
let frontEnd: RuntimeFrontEnd;
beforeAll(async () => {
  moto = await startMoto();
  aws = awsView(moto);
  container = await startSageMakerContainerLocally(IRIS);
  frontEnd = await startRuntimeFrontEnd({ container: container.url, moto: aws.sagemaker });
});
afterAll(async () => {
  await frontEnd?.stop();
  await container?.stop();
  await moto?.stop();
});

/** Predictions answered by moto's queue (simulated), or by the stand-in front end and the real model. */
const motoEnv = (): Record<string, string> => moto.env;
const realModelEnv = (): Record<string, string> => ({ ...moto.env, AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: frontEnd.url });
const cli = cliFor('sagemaker:/us-east-1', motoEnv);
const cliReal = cliFor('sagemaker:/us-east-1', realModelEnv);
const role = ['-C', `execution_role_arn=${ROLE}`];
function inputFile(text: string, name = 'input.json'): string {
  const file = path.join(tempDir('sagemaker-input'), name);
  writeFileSync(file, text);
  return file;
}
function clientFor(env: Record<string, string>): Promise<BaseDeploymentClient> {
  return getDeployClient('sagemaker:/us-east-1', { config: resolveConfig({ env, cwd: process.cwd() }) });
}
async function queueResult(body: unknown): Promise<void> {
  const response = await fetch(`${moto.url}/moto-api/static/sagemaker/endpoint-results`, {
    method: 'POST',
    body: JSON.stringify({ results: [{ Body: JSON.stringify(body), ContentType: 'application/json' }] }),
  });
  expect(response.status).toBe(201);
}

describe('predict (moto answers with a queued result: the prediction itself is simulated)', () => {
  beforeAll(async () => {
    const created = await cli('create', '--name', 'iris', '-m', IRIS, ...role);
    expect(created.code, created.stderr).toBe(0);
  });

  it('InvokeEndpoint: what the endpoint answers is printed as the predictions', async () => {
    await queueResult({ predictions: { label: [0, 2] } });
    const predicted = await cli('predict', '--name', 'iris', '-I', inputFile(JSON.stringify({ inputs: [[9, 9, 9, 9]] })));
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(JSON.parse(predicted.stdout)).toEqual({ predictions: { label: [0, 2] } });
  });

  it('an asynchronous endpoint: the input goes to S3, InvokeEndpointAsync runs it, the answer is read back and the input removed', async () => {
    await aws.s3.send(new CreateBucketCommand({ Bucket: 'async-out' }));
    const created = await cli(
      'create',
      '--name',
      'iris-async',
      '-m',
      IRIS,
      ...role,
      '-C',
      'async_inference_config={"OutputConfig": {"S3OutputPath": "s3://async-out/iris/"}}',
    );
    expect(created.code, created.stderr).toBe(0);
    expect((await cli('get', '--name', 'iris-async', '--json')).stdout).toContain('"async_inference": true');
    const queued = await fetch(`${moto.url}/moto-api/static/sagemaker/async-endpoint-results`, {
      method: 'POST',
      body: JSON.stringify({ results: [{ data: JSON.stringify({ predictions: [1] }) }] }),
    });
    expect(queued.status).toBe(201);
    const predicted = await cli('predict', '--name', 'iris-async', '-I', inputFile(JSON.stringify({ inputs: FLOWERS })));
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(JSON.parse(predicted.stdout)).toEqual({ predictions: [1] });
    expect((await aws.objects('async-out')).filter((key) => key.startsWith('mldeploy-async-inputs/'))).toEqual([]);
  });
});

describe('predict, the whole path in two halves: the body mldeploy sends to InvokeEndpoint, answered by the serving image’s command on the real model (runtime front end: a test stand-in)', () => {
  beforeAll(async () => {
    if ((await aws.endpoint('iris')) === undefined) expect((await cli('create', '--name', 'iris', '-m', IRIS, ...role)).code).toBe(0);
  });

  it('JSON: the real labels come back; the request was a scoring-protocol body', async () => {
    const predicted = await cliReal('predict', '--name', 'iris', '-I', inputFile(JSON.stringify({ inputs: FLOWERS })));
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(JSON.parse(predicted.stdout)).toMatchObject({ predictions: { label: [0, 2] } });
    const call = frontEnd.calls.at(-1)!;
    expect(call).toMatchObject({ endpoint: 'iris', targetVariant: undefined, contentType: 'application/json' });
    expect(JSON.parse(call.body)).toEqual({ inputs: FLOWERS });
  });

  it('CSV: sent as text/csv, as SageMaker users send it', async () => {
    const csv = ['sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)', ...FLOWERS.map((r) => r.join(','))].join('\n');
    const predicted = await cliReal('predict', '--name', 'iris', '-I', inputFile(`${csv}\n`, 'input.csv'));
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(JSON.parse(predicted.stdout)).toMatchObject({ predictions: { label: [0, 2] } });
    expect(frontEnd.calls.at(-1)).toMatchObject({ contentType: 'text/csv' });
  });

  it("the model's refusal (SageMaker's ModelError) comes back as the scoring server's own typed error, exit 1", async () => {
    const predicted = await cliReal('predict', '--name', 'iris', '-I', inputFile(JSON.stringify({ inputs: [[1, 2]] })));
    expect(predicted.code).toBe(1);
    expect(predicted.stderr).toMatch(/error: (INVALID_PARAMETER_VALUE|BAD_REQUEST): /);
    expect(predicted.stderr).not.toContain('ModelError');
  });

  it('predictStream: InvokeEndpointWithResponseStream, its payload parts read back as records', async () => {
    const client = await clientFor(realModelEnv());
    const records: Record<string, unknown>[] = [];
    for await (const record of client.predictStream('iris', { inputs: FLOWERS })) records.push(record);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ predictions: { label: [0, 2] } });
    expect(records[1]).toEqual({ done: true });
  });

  it("a stream that breaks off (the SDK's iterator throws the error event) is a typed error: the model's, or SageMaker's", async () => {
    const client = await clientFor(realModelEnv());
    const failure = async (): Promise<unknown> => {
      try {
        for await (const _record of client.predictStream('iris', { inputs: FLOWERS })) {
          // the records before the error event
        }
      } catch (error) {
        return error;
      }
      return expect.unreachable('the stream ended without its error');
    };
    frontEnd.failNextStream = 'ModelStreamError';
    const model = await failure();
    expect(isMlDeployError(model) && model.code).toBe('INTERNAL_ERROR');
    expect((model as Error).message).toBe("The model's stream failed: the model broke off");
    frontEnd.failNextStream = 'InternalStreamFailure';
    const sagemaker = await failure();
    expect(isMlDeployError(sagemaker) && sagemaker.code).toBe('TEMPORARILY_UNAVAILABLE');
    expect((sagemaker as Error).message).toContain("SageMaker's stream failed");
  });
});

describe('endpoints: a SageMaker endpoint whose production variants serve deployments, by weight', () => {
  beforeAll(async () => {
    const b = tempDir('sagemaker-b');
    execFileSync('cp', ['-r', `${IRIS}/.`, b]);
    for (const [name, model] of [
      ['dep-a', IRIS],
      ['dep-b', b],
    ] as const) {
      const created = await cli('create', '--name', name, '-m', model, ...role);
      expect(created.code, created.stderr).toBe(0);
    }
  });

  it('create-endpoint with a traffic split: one variant per deployment, serving its model, with its weight', async () => {
    const created = await cli('create-endpoint', '--endpoint', 'ab', '-C', 'traffic={"dep-a": 90, "dep-b": 10}');
    expect(created.code, created.stderr).toBe(0);
    const view = JSON.parse((await cli('get-endpoint', '--endpoint', 'ab', '--json')).stdout) as Record<string, unknown>;
    expect(view).toMatchObject({ name: 'ab', state: 'ready', traffic: { 'dep-a': 90, 'dep-b': 10 } });
    const config = await aws.configOf((await aws.endpoint('ab'))!.EndpointConfigName!);
    const modelOf = async (deployment: string): Promise<string> =>
      (await aws.configOf((await aws.endpoint(deployment))!.EndpointConfigName!)).variants[0]!.ModelName!;
    expect(config.variants.map((v) => [v.VariantName, v.ModelName])).toEqual([
      ['dep-a', await modelOf('dep-a')],
      ['dep-b', await modelOf('dep-b')],
    ]);
    expect(JSON.parse((await cli('list-endpoints', '--json')).stdout)).toEqual([expect.objectContaining({ name: 'ab' })]);
    // Each deployment is marked with a tag of its own per endpoint that serves it.
    const tags = (await aws.sagemaker.send(new ListTagsCommand({ ResourceArn: (await aws.endpoint('dep-a'))!.EndpointArn }))).Tags;
    expect(tags).toContainEqual({ Key: 'mldeploy:endpoint:ab', Value: 'true' });
  });

  it('an endpoint is no deployment: update and delete refuse it (they would replace or delete its deployments’ models), list leaves it out', async () => {
    const models = await aws.modelNames();
    const config = (await aws.endpoint('ab'))!.EndpointConfigName;
    for (const command of [
      ['delete', '--name', 'ab'],
      ['update', '--name', 'ab', '-m', IRIS],
      ['update', '--name', 'ab', '-C', 'instance_count=2'],
    ]) {
      const refused = await cli(...command);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('RESOURCE_DOES_NOT_EXIST: Deployment "ab" does not exist: "ab" is an endpoint');
      expect(refused.stderr).toContain(`'mldeploy ${command[0]}-endpoint --endpoint ab'`);
    }
    expect(await aws.modelNames()).toEqual(models);
    expect((await aws.endpoint('ab'))!.EndpointConfigName).toBe(config);
    const listed = JSON.parse((await cli('list', '--json')).stdout) as { name: string }[];
    expect(listed.map((d) => d.name)).toEqual(expect.arrayContaining(['dep-a', 'dep-b']));
    expect(listed.map((d) => d.name)).not.toContain('ab');
  });

  it('update-endpoint with the same deployments moves only the weights (UpdateEndpointWeightsAndCapacities: same config)', async () => {
    const before = (await aws.endpoint('ab'))!.EndpointConfigName;
    const updated = await cli('update-endpoint', '--endpoint', 'ab', '-C', 'traffic={"dep-a": 50, "dep-b": 50}');
    expect(updated.code, updated.stderr).toBe(0);
    const endpoint = (await aws.endpoint('ab'))!;
    expect(endpoint.EndpointConfigName).toBe(before);
    expect(endpoint.ProductionVariants?.map((v) => [v.VariantName, v.DesiredWeight])).toEqual([
      ['dep-a', 50],
      ['dep-b', 50],
    ]);
  });

  it('a deployment an endpoint serves cannot be deleted (RESOURCE_CONFLICT), as on the local target', async () => {
    const refused = await cli('delete', '--name', 'dep-a');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('RESOURCE_CONFLICT: Deployment "dep-a" serves in endpoint(s) ab');
    expect(await aws.endpoint('dep-a')).toBeDefined();
  });

  it('an update of a deployment rolls the endpoints that serve it onto its new model, keeping their weights', async () => {
    const next = tempDir('sagemaker-b2');
    execFileSync('cp', ['-r', `${IRIS}/.`, next]);
    const updated = await cli('update', '--name', 'dep-b', '-m', next);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stderr).toContain("Rolling endpoint ab onto its deployments' models");
    const bModel = (await aws.configOf((await aws.endpoint('dep-b'))!.EndpointConfigName!)).variants[0]!.ModelName;
    const ab = await aws.configOf((await aws.endpoint('ab'))!.EndpointConfigName!);
    expect(ab.variants.find((v) => v.VariantName === 'dep-b')).toMatchObject({ ModelName: bModel, InitialVariantWeight: 50 });
  });

  it('predict --endpoint goes to the endpoint; the client API pins a deployment with TargetVariant (real model behind the stand-in)', async () => {
    const split = await cliReal('predict', '--endpoint', 'ab', '-I', inputFile(JSON.stringify({ inputs: FLOWERS })));
    expect(split.code, split.stderr).toBe(0);
    expect(JSON.parse(split.stdout)).toMatchObject({ predictions: { label: [0, 2] } });
    expect(frontEnd.calls.at(-1)).toMatchObject({ endpoint: 'ab', targetVariant: undefined });
    const client = await clientFor(realModelEnv());
    const pinned = await client.predict('dep-b', { inputs: FLOWERS }, { endpoint: 'ab' });
    expect(pinned.predictions).toMatchObject({ label: [0, 2] });
    expect(frontEnd.calls.at(-1)).toMatchObject({ endpoint: 'ab', targetVariant: 'dep-b' });
  });

  it('get-endpoint of a deployment is RESOURCE_DOES_NOT_EXIST; a traffic split that does not sum to 100 is refused', async () => {
    const notEndpoint = await cli('get-endpoint', '--endpoint', 'dep-a');
    expect(notEndpoint.code).toBe(1);
    expect(notEndpoint.stderr).toContain('RESOURCE_DOES_NOT_EXIST: Endpoint "dep-a" does not exist in us-east-1: "dep-a" is a deployment');
    const bad = await cli('create-endpoint', '--endpoint', 'bad-split', '-C', 'traffic={"dep-a": 60, "dep-b": 30}');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("The traffic split's weights sum to 90; they must sum to 100");
    expect(await aws.endpoint('bad-split')).toBeUndefined();
  });

  it('delete-endpoint removes the endpoint and its config (not the models); its deployments can be deleted again', async () => {
    const config = (await aws.endpoint('ab'))!.EndpointConfigName!;
    const deleted = await cli('delete-endpoint', '--endpoint', 'ab');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await aws.endpoint('ab')).toBeUndefined();
    expect(await aws.configNames()).not.toContain(config);
    expect((await cli('delete', '--name', 'dep-a')).code).toBe(0);
  });

  it('a mark left by an endpoint that no longer exists does not block the delete of a deployment: it is removed', async () => {
    // As if endpoint "ghost" had been deleted in the console, its mark left on dep-b.
    const arn = (await aws.endpoint('dep-b'))!.EndpointArn!;
    await aws.sagemaker.send(new AddTagsCommand({ ResourceArn: arn, Tags: [{ Key: 'mldeploy:endpoint:ghost', Value: 'true' }] }));
    const deleted = await cli('delete', '--name', 'dep-b');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stderr).toContain('Endpoint ghost no longer exists: forgetting that it served dep-b');
    expect(await aws.endpoint('dep-b')).toBeUndefined();
  });

  it('a deployment with many tags: the mark of its endpoint is found on any page of ListTags (moto pages them by 50)', async () => {
    const tags = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`tag-${String(i).padStart(2, '0')}`, 'x']));
    expect((await cli('create', '--name', 'dep-many', '-m', IRIS, ...role, '-C', `tags=${JSON.stringify(tags)}`)).code).toBe(0);
    const created = await cli('create-endpoint', '--endpoint', 'many', '-C', 'traffic={"dep-many": 100}');
    expect(created.code, created.stderr).toBe(0);
    const refused = await cli('delete', '--name', 'dep-many');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('RESOURCE_CONFLICT: Deployment "dep-many" serves in endpoint(s) many');
    expect((await cli('delete-endpoint', '--endpoint', 'many')).code).toBe(0);
    expect((await cli('delete', '--name', 'dep-many')).code).toBe(0);
  });
});

describe('the conformance kit (SageMaker and S3 on moto; predictions by the real model behind the runtime stand-in)', () => {
  const rows = [
    [5.1, 3.5, 1.4, 0.2],
    [6.4, 3.2, 4.5, 1.5],
    [6.7, 3.1, 5.6, 2.4],
  ];
  for (const c of conformanceCases({
    client: () => clientFor(realModelEnv()),
    modelUri: IRIS,
    config: { execution_role_arn: ROLE },
    predictInput: { inputs: rows },
    concurrentInputs: rows.map((row) => ({ inputs: [row] })),
    checkPredictions: (response) => expect(response.predictions).toMatchObject({ label: [0, 1, 2] }),
    capabilities: { endpoints: true, predictStream: true },
    endpointConfig: (deployment) => ({ traffic: JSON.stringify({ [deployment]: 100 }) }),
    namePrefix: 'kit',
  })) {
    it(c.name, c.run, 120_000);
  }
});
