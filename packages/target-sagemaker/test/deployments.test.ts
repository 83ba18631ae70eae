import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { UpdateEndpointWeightsAndCapacitiesCommand } from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';
import { startMoto, type MotoServer } from './support/moto.js';
import { ACCOUNT, ROLE, awsView, cliFor, type AwsView } from './support/sagemaker-harness.js';

const IRIS = path.join(FIXTURE_MODELS, 'onnx-iris');
const REGRESSOR = path.join(FIXTURE_MODELS, 'onnx-regressor');
const BUCKET = `mldeploy-sagemaker-us-east-1-${ACCOUNT}`;

/**
 * The sagemaker target's deployments against moto (the AWS stand-in: SageMaker's control plane
 * and S3, with the test launcher's UpdateEndpoint), driven through the CLI as a user runs it.
 * What SageMaker does is read back with the AWS SDK as an administrator would.
 */
let moto: MotoServer;
let aws: AwsView;
beforeAll(async () => {
  moto = await startMoto();
  aws = awsView(moto);
});
afterAll(async () => {
  await moto?.stop();
});

const cli = cliFor('sagemaker:/us-east-1', () => moto.env);
const json = async <T>(...args: string[]): Promise<T> => {
  const result = await cli(...args, '--json');
  if (result.code !== 0) throw new Error(`mldeploy ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
};
const role = ['-C', `execution_role_arn=${ROLE}`];
/** A second model folder: another iris copy, so that an update has a different upload. */
function copyOf(model: string): string {
  const dir = tempDir('sagemaker-model');
  execFileSync('cp', ['-r', `${model}/.`, dir]);
  return dir;
}

describe('create, get and list (moto)', () => {
  it('a local MLflow model folder is packed, uploaded to the default bucket and served by a new endpoint, as MLflow does', async () => {
    const created = await cli(
      'create',
      '--name',
      'iris',
      '-m',
      IRIS,
      ...role,
      '-C',
      'instance_type=ml.c5.large',
      '-C',
      'tags={"team": "search"}',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain('Creating iris in us-east-1');
    expect(created.stderr).toContain(`Uploading ${IRIS} to s3://${BUCKET}/iris-model-`);
    const view = await json<Record<string, unknown>>('get', '--name', 'iris');
    expect(view).toMatchObject({ name: 'iris', state: 'ready', endpoint_status: 'InService', model_uri: IRIS, region: 'us-east-1' });
    expect(view['variants']).toEqual([
      expect.objectContaining({ instance_type: 'ml.c5.large', current_instance_count: 1, current_weight: 1 }),
    ]);
    // What is in AWS: one model with the upload and the serving image in the account's ECR, a config, the endpoint.
    const [model] = await aws.modelNames();
    expect(model).toMatch(/^iris-model-[0-9a-f]{10}$/);
    const described = await aws.model(model!);
    expect(described.ExecutionRoleArn).toBe(ROLE);
    expect(described.PrimaryContainer).toMatchObject({
      Image: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/mldeploy-sagemaker:0.1.0`,
      ModelDataUrl: `s3://${BUCKET}/${model}/model.tar.gz`,
    });
    expect(await aws.objects(BUCKET)).toEqual([`${model}/model.tar.gz`]);
    // The archive holds the model folder's files at its root, as SageMaker unpacks it into /opt/ml/model.
    const object = await aws.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${model}/model.tar.gz` }));
    const archive = path.join(tempDir('sagemaker-archive'), 'model.tar.gz');
    writeFileSync(archive, await object.Body!.transformToByteArray());
    const entries = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(entries).toEqual(expect.arrayContaining(['./MLmodel', './model.onnx']));
    const endpoint = await aws.endpoint('iris');
    expect(endpoint?.EndpointConfigName).toMatch(/^iris-config-[0-9a-f]{10}$/);
    expect((await json<{ name: string }[]>('list')).map((d) => d.name)).toEqual(['iris']);
  });

  it('a second create of the name is RESOURCE_ALREADY_EXISTS and makes nothing', async () => {
    const models = await aws.modelNames();
    const again = await cli('create', '--name', 'iris', '-m', IRIS, ...role);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('RESOURCE_ALREADY_EXISTS: Deployment "iris" already exists in us-east-1');
    expect(await aws.modelNames()).toEqual(models);
  });

  it('get and predict of a missing deployment are RESOURCE_DOES_NOT_EXIST; delete of one succeeds', async () => {
    const got = await cli('get', '--name', 'nope');
    expect(got.code).toBe(1);
    expect(got.stderr).toContain('RESOURCE_DOES_NOT_EXIST: Deployment "nope" does not exist in us-east-1');
    const input = path.join(tempDir('sagemaker-input'), 'in.json');
    writeFileSync(input, '{"inputs": [[1, 2, 3, 4]]}');
    const predicted = await cli('predict', '--name', 'nope', '-I', input);
    expect(predicted.code).toBe(1);
    expect(predicted.stderr).toContain('RESOURCE_DOES_NOT_EXIST');
    expect((await cli('delete', '--name', 'nope')).code).toBe(0);
  });

  it('an s3:// model is read in place (a folder uncompressed, a .tar.gz as it is) and never deleted', async () => {
    const folder = await cli('create', '--name', 'from-s3', '-m', 's3://team-models/iris/', ...role, '-C', 'synchronous=False');
    expect(folder.code, folder.stderr).toBe(0);
    const model = (await aws.modelNames()).find((m) => m.startsWith('from-s3-model-'))!;
    expect((await aws.model(model)).PrimaryContainer).toMatchObject({
      ModelDataSource: { S3DataSource: { S3Uri: 's3://team-models/iris/', S3DataType: 'S3Prefix', CompressionType: 'None' } },
    });
    const tarball = await cli('update', '--name', 'from-s3', '-m', 's3://team-models/iris-v2/model.tar.gz');
    expect(tarball.code, tarball.stderr).toBe(0);
    const models = (await aws.modelNames()).filter((m) => m.startsWith('from-s3-model-'));
    expect(models).toHaveLength(1);
    expect((await aws.model(models[0]!)).PrimaryContainer?.ModelDataUrl).toBe('s3://team-models/iris-v2/model.tar.gz');
    expect((await cli('delete', '--name', 'from-s3')).code).toBe(0);
  });

  it('a model URI SageMaker cannot read, or a folder that is no MLflow model, is refused before anything is made', async () => {
    const before = { models: await aws.modelNames(), configs: await aws.configNames() };
    const runs = await cli('create', '--name', 'bad-uri', '-m', 'runs:/abc/model', ...role);
    expect(runs.code).toBe(1);
    expect(runs.stderr).toContain('INVALID_PARAMETER_VALUE: SageMaker cannot read the model at "runs:/abc/model"');
    expect(runs.stderr).toContain('mldeploy models download -m runs:/abc/model -d ./model');
    const empty = await cli('create', '--name', 'bad-uri', '-m', tempDir('not-a-model'), ...role);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/RESOURCE_DOES_NOT_EXIST: .* is not an MLflow model folder \(it has no MLmodel file\)/);
    expect({ models: await aws.modelNames(), configs: await aws.configNames() }).toEqual(before);
    expect(await aws.endpoint('bad-uri')).toBeUndefined();
  });

  it('a symbolic link out of the model folder is refused before anything is uploaded; one inside is packed as its file', async () => {
    const outside = path.join(tempDir('sagemaker-secret'), 'secret.txt');
    writeFileSync(outside, 'not for SageMaker');
    const leaking = copyOf(IRIS);
    symlinkSync(outside, path.join(leaking, 'notes.txt'));
    const before = { models: await aws.modelNames(), objects: await aws.objects(BUCKET) };
    const refused = await cli('create', '--name', 'links', '-m', leaking, ...role);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `INVALID_PARAMETER_VALUE: The model folder ${leaking} has a symbolic link notes.txt that leads out of it`,
    );
    expect({ models: await aws.modelNames(), objects: await aws.objects(BUCKET) }).toEqual(before);
    const linked = copyOf(IRIS);
    mkdirSync(path.join(linked, 'extra'));
    symlinkSync('../MLmodel', path.join(linked, 'extra', 'MLmodel.link'));
    const created = await cli('create', '--name', 'links', '-m', linked, ...role);
    expect(created.code, created.stderr).toBe(0);
    const model = (await aws.modelNames()).find((m) => m.startsWith('links-model-'))!;
    const object = await aws.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${model}/model.tar.gz` }));
    const archive = path.join(tempDir('sagemaker-archive'), 'model.tar.gz');
    writeFileSync(archive, await object.Body!.transformToByteArray());
    const listing = execFileSync('tar', ['-tvzf', archive], { encoding: 'utf8' }).split('\n');
    // A regular file (mode starting with "-"), not a link that would dangle in /opt/ml/model.
    expect(listing.find((line) => line.endsWith('./extra/MLmodel.link'))).toMatch(/^-/);
    expect((await cli('delete', '--name', 'links')).code).toBe(0);
  });
});

describe('bad config values: a clear error, exit 1, nothing made in AWS (moto)', () => {
  const cases: [string, string[], RegExp][] = [
    ['a whole number that is not one', ['-C', 'instance_count=two'], /instance_count must be a whole number of at least 1, got "two"/],
    ['a boolean other than True/False', ['-C', 'archive=yes'], /archive must be True or False, got "yes"/],
    ['an unknown key', ['-C', 'instance_typ=ml.c5.large'], /unknown key\(s\) "instance_typ"/],
    ['JSON that does not parse', ['-C', 'vpc_config={subnets'], /vpc_config must be a JSON object/],
    ['an update mode on a create', ['-C', 'mode=replace'], /mode must be create for a create, got "replace"/],
    [
      'a tag value that is not a string',
      ['-C', 'tags={"team": "search", "cost-center": 42}'],
      /tags values must be strings \("cost-center" is not\)/,
    ],
    [
      'a misspelt deployment_config key',
      [
        '-C',
        'deployment_config={"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 60}}, "AutoRolback": {}}',
      ],
      /deployment_config is not a SageMaker DeploymentConfig: .*AutoRolback.*BlueGreenUpdatePolicy: a CANARY traffic routing needs CanarySize|deployment_config is not a SageMaker DeploymentConfig/,
    ],
    ['an invalid name', [], /Invalid deployment name "bad_name" for SageMaker/],
  ];
  for (const [what, config, message] of cases) {
    it(what, async () => {
      const before = { models: await aws.modelNames(), configs: await aws.configNames(), buckets: await aws.buckets() };
      const name = what === 'an invalid name' ? 'bad_name' : 'bad-config';
      const result = await cli('create', '--name', name, '-m', IRIS, ...role, ...config);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/INVALID_PARAMETER_VALUE/);
      expect(result.stderr).toMatch(message);
      expect({ models: await aws.modelNames(), configs: await aws.configNames(), buckets: await aws.buckets() }).toEqual(before);
      expect(await aws.endpoint(name)).toBeUndefined();
    });
  }
});

describe('updates (moto, with the test launcher UpdateEndpoint)', () => {
  beforeAll(async () => {
    const created = await cli(
      'create',
      '--name',
      'upd',
      '-m',
      IRIS,
      ...role,
      '-C',
      'instance_type=ml.c5.large',
      '-C',
      'env={"LOG_LEVEL": "debug"}',
    );
    expect(created.code, created.stderr).toBe(0);
  });

  it('replace (the default): a new model and config take all traffic; the replaced model, its upload and config are deleted', async () => {
    const endpoint = await aws.endpoint('upd');
    const oldConfig = endpoint!.EndpointConfigName!;
    const [oldModel] = (await aws.configOf(oldConfig)).variants.map((v) => v.ModelName!);
    const [oldVariant] = (await aws.configOf(oldConfig)).variants.map((v) => v.VariantName!);
    const next = copyOf(IRIS);
    const updated = await cli('update', '--name', 'upd', '-m', next);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stderr).toContain(`Deleted model ${oldModel} and s3://${BUCKET}/${oldModel}/model.tar.gz`);
    const view = await json<{ model_uri: string; variants: { model_name: string; current_weight: number }[] }>('get', '--name', 'upd');
    expect(view.model_uri).toBe(next);
    expect(view.variants).toHaveLength(1);
    expect(view.variants[0]!.model_name).not.toBe(oldModel);
    // The variant keeps its name (autoscaling is registered per variant name), unlike MLflow's (a listed deviation).
    expect((view.variants[0] as unknown as { variant_name: string }).variant_name).toBe(oldVariant);
    // What the update did not name stays as it ran (MLflow would reset it to its defaults: a listed deviation).
    expect(view.variants[0]).toMatchObject({ instance_type: 'ml.c5.large', current_instance_count: 1 });
    const model = await aws.model(view.variants[0]!.model_name);
    expect(model.ExecutionRoleArn).toBe(ROLE);
    expect(model.PrimaryContainer?.Environment).toMatchObject({ LOG_LEVEL: 'debug', MLDEPLOY_MODEL_URI: next });
    expect(await aws.modelNames()).not.toContain(oldModel);
    expect(await aws.configNames()).not.toContain(oldConfig);
    expect((await aws.objects(BUCKET)).filter((k) => k.startsWith(oldModel!))).toEqual([]);
  });

  it('archive=True keeps the replaced model, its upload and its config', async () => {
    const oldConfig = (await aws.endpoint('upd'))!.EndpointConfigName!;
    const [oldModel] = (await aws.configOf(oldConfig)).variants.map((v) => v.ModelName!);
    const updated = await cli('update', '--name', 'upd', '-m', copyOf(IRIS), '-C', 'archive=True');
    expect(updated.code, updated.stderr).toBe(0);
    expect(await aws.modelNames()).toContain(oldModel);
    expect(await aws.configNames()).toContain(oldConfig);
    expect(await aws.objects(BUCKET)).toContain(`${oldModel}/model.tar.gz`);
  });

  it('mode=add: the new model joins as a variant with no traffic, the old one keeps serving, nothing is deleted', async () => {
    const models = await aws.modelNames();
    // Autoscaling has grown the running variant to 3 instances: the new config keeps 3, not the 1 it started with.
    const running = (await aws.endpoint('upd'))!.ProductionVariants![0]!.VariantName!;
    await aws.sagemaker.send(
      new UpdateEndpointWeightsAndCapacitiesCommand({
        EndpointName: 'upd',
        DesiredWeightsAndCapacities: [{ VariantName: running, DesiredWeight: 1, DesiredInstanceCount: 3 }],
      }),
    );
    const updated = await cli('update', '--name', 'upd', '-m', REGRESSOR, '-C', 'mode=add', '-C', 'variant_name=challenger');
    expect(updated.code, updated.stderr).toBe(0);
    const view = await json<{ model_uri: string; variants: { variant_name: string; model_uri: string; current_weight: number | null }[] }>(
      'get',
      '--name',
      'upd',
    );
    expect(view.variants).toHaveLength(2);
    expect(view.variants.find((v) => v.variant_name === 'challenger')).toMatchObject({ model_uri: REGRESSOR });
    expect(view.variants.find((v) => v.variant_name === 'challenger')!.current_weight ?? 0).toBe(0);
    // The main model is the one with the traffic: unchanged.
    expect(view.model_uri).not.toBe(REGRESSOR);
    expect((await aws.modelNames()).filter((m) => !models.includes(m))).toHaveLength(1);
    expect(await aws.modelNames()).toEqual(expect.arrayContaining(models));
    const config = await aws.configOf((await aws.endpoint('upd'))!.EndpointConfigName!);
    expect(config.variants.find((v) => v.VariantName === running)).toMatchObject({ InitialInstanceCount: 3 });
  });

  it("deployment_config reaches SageMaker's UpdateEndpoint (get shows it as last_deployment_config)", async () => {
    const policy = {
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: { Type: 'CANARY', WaitIntervalInSeconds: 300, CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 } },
        TerminationWaitInSeconds: 120,
      },
      AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'upd-5xx' }] },
    };
    const updated = await cli('update', '--name', 'upd', '-m', IRIS, '-C', `deployment_config=${JSON.stringify(policy)}`);
    expect(updated.code, updated.stderr).toBe(0);
    expect((await json<Record<string, unknown>>('get', '--name', 'upd'))['last_deployment_config']).toEqual(policy);
    // A later update without deployment_config keeps the policy and its alarms (RetainDeploymentConfig).
    const again = await cli('update', '--name', 'upd', '-m', IRIS);
    expect(again.code, again.stderr).toBe(0);
    expect((await json<Record<string, unknown>>('get', '--name', 'upd'))['last_deployment_config']).toEqual(policy);
  });

  it('an update SageMaker rolls back on an alarm fails with its reason; what the update made is deleted, the old config serves', async () => {
    const before = {
      config: (await aws.endpoint('upd'))!.EndpointConfigName,
      models: await aws.modelNames(),
      configs: await aws.configNames(),
    };
    // The launcher plays SageMaker's auto-rollback for this alarm name (moto has no CloudWatch alarms).
    const policy = { AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'mldeploy-test-alarm-in-alarm' }] } };
    const updated = await cli('update', '--name', 'upd', '-m', copyOf(IRIS), '-C', `deployment_config=${JSON.stringify(policy)}`);
    expect(updated.code).toBe(1);
    expect(updated.stderr).toContain(`INVALID_STATE: SageMaker rolled the update of "upd" back: it serves ${before.config} again`);
    expect(updated.stderr).toContain('CloudWatch alarm mldeploy-test-alarm-in-alarm went into ALARM');
    expect((await aws.endpoint('upd'))!.EndpointConfigName).toBe(before.config);
    expect(await aws.modelNames()).toEqual(before.models);
    expect(await aws.configNames()).toEqual(before.configs);
  });

  it('an update whose rollback fails too (UpdateRollbackFailed) fails at once with the reason; the endpoint then refuses updates', async () => {
    expect((await cli('create', '--name', 'rbf', '-m', IRIS, ...role)).code).toBe(0);
    // The launcher ends an update naming this alarm as UpdateRollbackFailed.
    const policy = { AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'mldeploy-test-alarm-rollback-fails' }] } };
    const started = Date.now();
    const updated = await cli(
      'update',
      '--name',
      'rbf',
      '-m',
      IRIS,
      '-C',
      `deployment_config=${JSON.stringify(policy)}`,
      '-C',
      'timeout_seconds=20',
    );
    expect(updated.code).toBe(1);
    expect(updated.stderr).toContain('INVALID_STATE: The update of "rbf" failed and so did its rollback (UpdateRollbackFailed)');
    expect(updated.stderr).toContain('mldeploy-test-alarm-rollback-fails went into ALARM, and the rollback failed');
    expect(Date.now() - started).toBeLessThan(15_000);
    const models = await aws.modelNames();
    const again = await cli('update', '--name', 'rbf', '-m', IRIS);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('INVALID_STATE: Endpoint rbf is UpdateRollbackFailed');
    expect(again.stderr).toContain('delete it (mldeploy delete --name rbf)');
    expect(await aws.modelNames()).toEqual(models);
  });

  it('update without -m serves the running model’s files again (not the recorded path, which may be gone) and keeps them', async () => {
    const folder = copyOf(IRIS);
    expect((await cli('create', '--name', 'reuse', '-m', folder, ...role)).code).toBe(0);
    const oldModel = (await aws.configOf((await aws.endpoint('reuse'))!.EndpointConfigName!)).variants[0]!.ModelName!;
    const files = (await aws.model(oldModel)).PrimaryContainer!.ModelDataUrl!;
    rmSync(folder, { recursive: true });
    const updated = await cli('update', '--name', 'reuse', '-C', 'env={"LOG_LEVEL": "info"}');
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stderr).not.toContain('Uploading');
    const newModel = (await aws.configOf((await aws.endpoint('reuse'))!.EndpointConfigName!)).variants[0]!.ModelName!;
    expect(newModel).not.toBe(oldModel);
    const described = await aws.model(newModel);
    expect(described.PrimaryContainer?.ModelDataUrl).toBe(files);
    expect(described.PrimaryContainer?.Environment).toMatchObject({ LOG_LEVEL: 'info', MLDEPLOY_MODEL_URI: folder });
    // The replaced model is gone, its upload stays: the new model serves it (and owns it now).
    expect(await aws.modelNames()).not.toContain(oldModel);
    expect(await aws.objects(BUCKET)).toContain(files.slice(`s3://${BUCKET}/`.length));
    expect((await cli('delete', '--name', 'reuse')).code).toBe(0);
    expect(await aws.objects(BUCKET)).not.toContain(files.slice(`s3://${BUCKET}/`.length));
  });

  it('synchronous=False: an update returns at once; a replacing one must archive (as MLflow), refused before anything is made', async () => {
    const before = { models: await aws.modelNames(), configs: await aws.configNames() };
    const refused = await cli('update', '--name', 'upd', '-m', IRIS, '-C', 'synchronous=False');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'Resources must be archived (archive=True) for an update that replaces the model with synchronous=False',
    );
    expect({ models: await aws.modelNames(), configs: await aws.configNames() }).toEqual(before);
    const deleteRefused = await cli('delete', '--name', 'upd', '-C', 'synchronous=False');
    expect(deleteRefused.code).toBe(1);
    expect(await aws.endpoint('upd')).toBeDefined();
    const started = await cli('update', '--name', 'upd', '-m', IRIS, '-C', 'synchronous=False', '-C', 'archive=True');
    expect(started.code, started.stderr).toBe(0);
    expect(started.stderr).not.toContain('Waiting for upd');
  });

  it('an update still rolling out when timeout_seconds pass is DEADLINE_EXCEEDED, saying SageMaker goes on', async () => {
    // The launcher keeps endpoints named slow-* Updating for an hour after an update.
    expect((await cli('create', '--name', 'slow-iris', '-m', IRIS, ...role)).code).toBe(0);
    const started = Date.now();
    const updated = await cli('update', '--name', 'slow-iris', '-m', IRIS, '-C', 'timeout_seconds=2');
    expect(updated.code).toBe(1);
    expect(updated.stderr).toContain('DEADLINE_EXCEEDED: Endpoint "slow-iris" did not reach InService within 2 s (status Updating)');
    expect(updated.stderr).toContain("SageMaker goes on with it: watch it with 'mldeploy get --name slow-iris'");
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((await json<{ state: string }>('get', '--name', 'slow-iris')).state).toBe('updating');
  });

  it('an update of an endpoint that is still Updating is refused before anything is made (INVALID_STATE)', async () => {
    const before = { models: await aws.modelNames(), configs: await aws.configNames() };
    const refused = await cli('update', '--name', 'slow-iris', '-m', IRIS);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'INVALID_STATE: Endpoint slow-iris is Updating: wait for it (mldeploy get --name slow-iris) and try again',
    );
    expect({ models: await aws.modelNames(), configs: await aws.configNames() }).toEqual(before);
  });
});

describe('delete (moto)', () => {
  it('deletes the endpoint, its config, its models and their uploads', async () => {
    expect((await cli('create', '--name', 'gone', '-m', copyOf(IRIS), ...role)).code).toBe(0);
    const config = (await aws.endpoint('gone'))!.EndpointConfigName!;
    const models = (await aws.configOf(config)).variants.map((v) => v.ModelName!);
    const deleted = await cli('delete', '--name', 'gone');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await aws.endpoint('gone')).toBeUndefined();
    expect(await aws.configNames()).not.toContain(config);
    for (const model of models) {
      expect(await aws.modelNames()).not.toContain(model);
      expect((await aws.objects(BUCKET)).some((k) => k.startsWith(`${model}/`))).toBe(false);
    }
  });

  it('archive=True deletes the endpoint only', async () => {
    expect((await cli('create', '--name', 'kept', '-m', copyOf(IRIS), ...role)).code).toBe(0);
    const config = (await aws.endpoint('kept'))!.EndpointConfigName!;
    const [model] = (await aws.configOf(config)).variants.map((v) => v.ModelName!);
    const deleted = await cli('delete', '--name', 'kept', '-C', 'archive=True');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await aws.endpoint('kept')).toBeUndefined();
    expect(await aws.configNames()).toContain(config);
    expect(await aws.modelNames()).toContain(model);
    expect(await aws.objects(BUCKET)).toContain(`${model}/model.tar.gz`);
  });

  it('mode is refused on a delete', async () => {
    const refused = await cli('delete', '--name', 'x', '-C', 'mode=add');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('mode applies to create and update, not to delete');
  });
});

describe('region and role from the target URI (moto)', () => {
  it('sagemaker:/<region>/<role-arn>: every call is made in that region as the assumed role, which is also the execution role', async () => {
    // A role with an IAM path: the assumed-role ARN drops it, IAM's GetRole gives it back (as MLflow asks it).
    const iam = new IAMClient({
      endpoint: moto.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const made = await iam.send(
      new CreateRoleCommand({
        RoleName: 'deployer',
        Path: '/service-role/',
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
    );
    const assumed = `arn:aws:iam::${ACCOUNT}:role/service-role/deployer`;
    expect(made.Role?.Arn).toBe(assumed);
    const regional = cliFor(`sagemaker:/eu-west-1/${assumed}`, () => moto.env);
    const created = await regional('create', '--name', 'iris-eu', '-m', IRIS);
    expect(created.code, created.stderr).toBe(0);
    const eu = awsView(moto, 'eu-west-1');
    const model = (await eu.modelNames()).find((m) => m.startsWith('iris-eu-model-'))!;
    // No execution_role_arn: the role of the caller (here the assumed one), as MLflow does.
    expect((await eu.model(model)).ExecutionRoleArn).toBe(assumed);
    expect((await eu.model(model)).PrimaryContainer?.ModelDataUrl).toBe(
      `s3://mldeploy-sagemaker-eu-west-1-${ACCOUNT}/${model}/model.tar.gz`,
    );
    expect(await aws.endpoint('iris-eu')).toBeUndefined();
    expect((await regional('get', '--name', 'iris-eu')).code).toBe(0);
  });

  it('a caller that is not a role and no execution_role_arn: refused, naming the key', async () => {
    const created = await cli('create', '--name', 'no-role', '-m', IRIS);
    expect(created.code).toBe(1);
    expect(created.stderr).toContain("SageMaker needs an execution role, and the credentials in use are not a role's");
    expect(created.stderr).toContain('execution_role_arn');
    expect(await aws.endpoint('no-role')).toBeUndefined();
  });

  it('a role ARN without a region is refused as MLflow refuses it', async () => {
    const bad = cliFor(`sagemaker:/arn:aws:iam::${ACCOUNT}:role/deployer`, () => moto.env);
    const result = await bad('list');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('names an IAM role ARN without a region');
  });
});
