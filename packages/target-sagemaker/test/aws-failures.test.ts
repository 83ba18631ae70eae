import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { venvBin } from '../../../test/support/mlflow-scoring-server.js';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';
import { startAwsProxy, type AwsProxy } from './support/aws-proxy.js';
import { startMoto, type MotoServer } from './support/moto.js';
import { ACCOUNT, ROLE, awsView, cliFor } from './support/sagemaker-harness.js';

const IRIS = path.join(FIXTURE_MODELS, 'onnx-iris');

/**
 * AWS failing as it does in production, through the CLI: moto's own IAM checks (on after the
 * set-up calls) for a user whose policy lacks an action or a key AWS does not know, and, from
 * small proxies in front of moto (test stand-ins: moto never throttles, never loses an answer and
 * does not check ExpectedBucketOwner), throttling for the SDK's retries, calls made but answered
 * 500, and the headers of the S3 calls.
 */
describe('IAM: a user whose policy lacks an action (moto checks IAM policies)', () => {
  let moto: MotoServer;
  let keys: { AccessKeyId: string; SecretAccessKey: string };
  beforeAll(async () => {
    // The set-up below makes 4 calls as the root account; every later call is checked against IAM.
    moto = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '4' } });
    const setUp = `
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
iam = boto3.client("iam", **kw)
boto3.client("s3", **kw).create_bucket(Bucket="models")
iam.create_user(UserName="deployer")
iam.put_user_policy(UserName="deployer", PolicyName="no-create-model", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:*", "sts:GetCallerIdentity", "sagemaker:Describe*", "sagemaker:List*", "sagemaker:DeleteModel"], "Resource": "*"}]}))
print(json.dumps(iam.create_access_key(UserName="deployer")["AccessKey"], default=str))
`;
    keys = JSON.parse(execFileSync(path.join(venvBin(), 'python'), ['-c', setUp, moto.url], { encoding: 'utf8' })) as typeof keys;
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('is PERMISSION_DENIED naming the IAM action, and the model it uploaded first is removed', async () => {
    const cli = cliFor('sagemaker:/us-east-1', () => ({
      ...moto.env,
      AWS_ACCESS_KEY_ID: keys.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.SecretAccessKey,
    }));
    const created = await cli('create', '--name', 'iris', '-m', IRIS, '-C', `execution_role_arn=${ROLE}`, '-C', 'bucket=models');
    expect(created.code).toBe(1);
    expect(created.stderr).toContain('PERMISSION_DENIED: AWS refused sagemaker:CreateModel');
    expect(created.stderr).toContain('the credentials lack sagemaker:CreateModel');
    expect(created.stderr).toContain("Grant the IAM actions 'mldeploy help -t sagemaker' lists.");
    // Read back with the deployer's keys (allowed to read S3): the upload made before CreateModel was refused is gone.
    const s3 = new S3Client({
      endpoint: moto.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: keys.AccessKeyId, secretAccessKey: keys.SecretAccessKey },
    });
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'models' }))).Contents ?? []).toEqual([]);
  });

  it('an unknown access key is UNAUTHENTICATED, not PERMISSION_DENIED (STS answers InvalidClientTokenId with 403)', async () => {
    // Through STS (AssumeRole is the first call with a role in the URI): moto answers an unknown
    // key in XML, which the SDK reads for STS's XML protocol but not for SageMaker's JSON one.
    const cli = cliFor(`sagemaker:/us-east-1/arn:aws:iam::${ACCOUNT}:role/deployer`, () => ({
      ...moto.env,
      AWS_ACCESS_KEY_ID: 'AKIAUNKNOWNKEY000000',
      AWS_SECRET_ACCESS_KEY: 'x',
    }));
    const got = await cli('list');
    expect(got.code).toBe(1);
    expect(got.stderr).toContain('UNAUTHENTICATED: AWS did not accept the credentials for sts:AssumeRole');
    expect(got.stderr).toContain('InvalidClientTokenId');
  });
});

describe('IAM: credentials allowed to predict only (no DescribeEndpoint) still predict', () => {
  let moto: MotoServer;
  let keys: { AccessKeyId: string; SecretAccessKey: string };
  beforeAll(async () => {
    // The set-up below makes 6 calls as the root account: an endpoint, and a user who may only invoke it.
    moto = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '6' } });
    const setUp = `
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
iam = boto3.client("iam", **kw)
sm = boto3.client("sagemaker", **kw)
sm.create_model(ModelName="iris-model", ExecutionRoleArn=sys.argv[2], PrimaryContainer={"Image": "mldeploy-sagemaker:0.1.0"})
sm.create_endpoint_config(EndpointConfigName="iris-config", ProductionVariants=[{"VariantName": "main", "ModelName": "iris-model", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
sm.create_endpoint(EndpointName="iris", EndpointConfigName="iris-config")
iam.create_user(UserName="app")
iam.put_user_policy(UserName="app", PolicyName="invoke-only", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sagemaker:InvokeEndpoint"], "Resource": "*"}]}))
print(json.dumps(iam.create_access_key(UserName="app")["AccessKey"], default=str))
`;
    keys = JSON.parse(execFileSync(path.join(venvBin(), 'python'), ['-c', setUp, moto.url, ROLE], { encoding: 'utf8' })) as typeof keys;
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('the describe calls that detect an async endpoint are denied: predict falls back to a plain InvokeEndpoint', async () => {
    const queued = await fetch(`${moto.url}/moto-api/static/sagemaker/endpoint-results`, {
      method: 'POST',
      body: JSON.stringify({ results: [{ Body: JSON.stringify({ predictions: [2] }), ContentType: 'application/json' }] }),
    });
    expect(queued.status).toBe(201);
    const input = path.join(tempDir('sagemaker-input'), 'in.json');
    writeFileSync(input, JSON.stringify({ inputs: [[6.7, 3.1, 5.6, 2.4]] }));
    const cli = cliFor('sagemaker:/us-east-1', () => ({
      ...moto.env,
      AWS_ACCESS_KEY_ID: keys.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.SecretAccessKey,
    }));
    const predicted = await cli('predict', '--name', 'iris', '-I', input);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(JSON.parse(predicted.stdout)).toEqual({ predictions: [2] });
  });
});

describe('the default bucket: every call names its owner (ExpectedBucketOwner), and one made meanwhile is used (a recording proxy in front of moto’s S3: a test stand-in)', () => {
  let moto: MotoServer;
  let proxy: AwsProxy;
  const seen: { method: string; url: string; owner: string | undefined }[] = [];
  let missingHeads = 0;
  beforeAll(async () => {
    moto = await startMoto();
    proxy = await startAwsProxy(moto.url, (request, response) => {
      const owner = request.headers['x-amz-expected-bucket-owner'];
      seen.push({ method: request.method ?? '', url: request.url ?? '', owner: Array.isArray(owner) ? owner[0] : owner });
      if (request.method !== 'HEAD' || missingHeads === 0) return 'forward';
      // As if the bucket were not made yet when HeadBucket asked (another run makes it meanwhile).
      missingHeads -= 1;
      response.writeHead(404);
      response.end();
      return 'answered';
    });
  });
  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
  });

  it('HeadBucket, the upload and the delete of the default bucket all send ExpectedBucketOwner: the account', async () => {
    const cli = cliFor('sagemaker:/us-east-1', () => ({ ...moto.env, AWS_ENDPOINT_URL_S3: proxy.url }));
    seen.length = 0;
    const created = await cli('create', '--name', 'iris', '-m', IRIS, '-C', `execution_role_arn=${ROLE}`);
    expect(created.code, created.stderr).toBe(0);
    expect((await cli('delete', '--name', 'iris')).code).toBe(0);
    const bucket = `/mldeploy-sagemaker-us-east-1-${ACCOUNT}`;
    const calls = seen.filter((c) => c.url.startsWith(bucket));
    // HeadBucket, CreateBucket (which takes no owner: it makes the bucket), PutObject, DeleteObject.
    expect(calls.map((c) => c.method)).toEqual(expect.arrayContaining(['HEAD', 'PUT', 'DELETE']));
    const isCreateBucket = (c: { method: string; url: string }): boolean =>
      c.method === 'PUT' && c.url.split('?')[0]!.replace(/\/$/, '') === bucket;
    expect(calls.filter((c) => !isCreateBucket(c) && c.owner !== ACCOUNT)).toEqual([]);
  });

  it('a CreateBucket answered BucketAlreadyOwnedByYou (made meanwhile by this account) is as good as made', async () => {
    const eu = awsView(moto, 'eu-west-1');
    const name = `mldeploy-sagemaker-eu-west-1-${ACCOUNT}`;
    await eu.s3.send(new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    missingHeads = 1;
    const cli = cliFor('sagemaker:/eu-west-1', () => ({ ...moto.env, AWS_ENDPOINT_URL_S3: proxy.url }));
    const created = await cli('create', '--name', 'iris-eu', '-m', IRIS, '-C', `execution_role_arn=${ROLE}`);
    expect(missingHeads).toBe(0);
    expect(created.code, created.stderr).toBe(0);
    expect((await eu.objects(name)).length).toBe(1);
  });
});

describe('throttling (retried by the SDK with backoff, then REQUEST_LIMIT_EXCEEDED) and lost answers (a proxy in front of moto: a test stand-in)', () => {
  let moto: MotoServer;
  let proxy: AwsProxy;
  let throttleNext = 0;
  let describes = 0;
  /** Calls (by X-Amz-Target) whose next answers are lost: made in moto, answered 500 to the client. */
  const lose = new Map<string, number>();
  beforeAll(async () => {
    moto = await startMoto();
    proxy = await startAwsProxy(moto.url, (request, response) => {
      const action = String(request.headers['x-amz-target'] ?? '');
      if (action === 'SageMaker.DescribeEndpoint') {
        describes += 1;
        if (throttleNext > 0) {
          throttleNext -= 1;
          response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
          response.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
          return 'answered';
        }
      }
      if ((lose.get(action) ?? 0) === 0) return 'forward';
      lose.set(action, lose.get(action)! - 1);
      return 'lose';
    });
    const created = await cliFor('sagemaker:/us-east-1', () => moto.env)(
      'create',
      '--name',
      'iris',
      '-m',
      IRIS,
      '-C',
      `execution_role_arn=${ROLE}`,
    );
    expect(created.code, created.stderr).toBe(0);
  });
  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
  });
  const cli = cliFor('sagemaker:/us-east-1', () => ({ ...moto.env, AWS_ENDPOINT_URL_SAGEMAKER: proxy.url }));

  it('a call throttled twice succeeds on the third try', async () => {
    throttleNext = 2;
    describes = 0;
    const got = await cli('get', '--name', 'iris', '--json');
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ name: 'iris', state: 'ready' });
    expect(describes).toBe(3);
  });

  it('a call throttled every time gives up after 6 tries with REQUEST_LIMIT_EXCEEDED, exit 1', async () => {
    throttleNext = 1000;
    describes = 0;
    const got = await cli('get', '--name', 'iris');
    throttleNext = 0;
    expect(got.code).toBe(1);
    expect(got.stderr).toContain(
      'REQUEST_LIMIT_EXCEEDED: sagemaker:DescribeEndpoint iris in us-east-1 failed: ThrottlingException: Rate exceeded',
    );
    expect(describes).toBe(6);
  });

  it('a CreateEndpoint whose every answer was lost made the endpoint: the create goes on and keeps what the endpoint serves', async () => {
    const aws = awsView(moto);
    // Every try (the SDK retries a 500) reaches moto, which makes the endpoint; SageMaker would
    // refuse the retries as "already existing", which the create reads the same way.
    lose.set('SageMaker.CreateEndpoint', 6);
    const created = await cli('create', '--name', 'lost-create', '-m', IRIS, '-C', `execution_role_arn=${ROLE}`);
    expect(lose.get('SageMaker.CreateEndpoint')).toBe(0);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/lost-create uses lost-create-config-\w+ although the call's answer was an error: going on/);
    const config = (await aws.endpoint('lost-create'))!.EndpointConfigName!;
    expect(await aws.configNames()).toContain(config);
    const [model] = (await aws.configOf(config)).variants.map((v) => v.ModelName!);
    expect(await aws.modelNames()).toContain(model);
  });

  it('an UpdateEndpoint whose every answer was lost took effect: the update goes on and keeps what it made', async () => {
    const aws = awsView(moto);
    lose.set('SageMaker.UpdateEndpoint', 6);
    const updated = await cli('update', '--name', 'iris', '-C', 'instance_count=2');
    expect(lose.get('SageMaker.UpdateEndpoint')).toBe(0);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stderr).toMatch(/iris uses iris-config-\w+ although the call's answer was an error: going on/);
    const config = (await aws.endpoint('iris'))!.EndpointConfigName!;
    expect(await aws.configNames()).toContain(config);
    const [variant] = (await aws.configOf(config)).variants;
    expect(await aws.modelNames()).toContain(variant!.ModelName);
  });
});
