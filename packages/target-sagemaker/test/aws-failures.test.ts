import { execFileSync } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { venvBin } from '../../../test/support/mlflow-scoring-server.js';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { startMoto, type MotoServer } from './support/moto.js';
import { ROLE, cliFor } from './support/sagemaker-harness.js';

const IRIS = path.join(FIXTURE_MODELS, 'onnx-iris');

/**
 * AWS failing as it does in production, through the CLI: moto's own IAM checks (on after the
 * set-up calls) for a user whose policy lacks an action, and throttling answers from a small
 * proxy in front of moto (a test stand-in: moto never throttles) for the SDK's retries.
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
});

describe('throttling: retried by the SDK with backoff, then REQUEST_LIMIT_EXCEEDED (a throttling proxy in front of moto: a test stand-in)', () => {
  let moto: MotoServer;
  let proxy: Server;
  let proxyUrl: string;
  let throttleNext = 0;
  let describes = 0;
  beforeAll(async () => {
    moto = await startMoto();
    const target = new URL(moto.url);
    proxy = createServer((request, response) => {
      const action = String(request.headers['x-amz-target'] ?? '');
      if (action === 'SageMaker.DescribeEndpoint') {
        describes += 1;
        if (throttleNext > 0) {
          throttleNext -= 1;
          request.resume();
          response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
          response.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
          return;
        }
      }
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, path: request.url, method: request.method, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      request.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
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
    await new Promise<void>((resolve) => proxy?.close(() => resolve()));
    await moto?.stop();
  });
  const cli = cliFor('sagemaker:/us-east-1', () => ({ ...moto.env, AWS_ENDPOINT_URL_SAGEMAKER: proxyUrl }));

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
});
