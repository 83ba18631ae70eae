import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  SageMakerClient,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyAwsError, redactEchoedValues } from '../src/aws/aws-errors.js';
import { startMoto, type MotoServer } from './support/moto.js';

/**
 * The test environment itself: the real AWS SDK v3 against moto, with the UpdateEndpoint that
 * the test folder's launcher adds to moto (SageMaker's own semantics: the endpoint takes the new
 * config's variants). The target's tests build on this.
 */
describe('the AWS stand-in for the sagemaker target: moto, with UpdateEndpoint added by the test launcher', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('takes models, endpoint configs and endpoints, and an update swaps the endpoint to a new config with weighted variants', async () => {
    const sagemaker = new SageMakerClient({
      endpoint: moto.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const role = 'arn:aws:iam::123456789012:role/sagemaker';
    for (const name of ['iris-1', 'iris-2']) {
      await sagemaker.send(
        new CreateModelCommand({
          ModelName: name,
          ExecutionRoleArn: role,
          PrimaryContainer: { Image: 'mldeploy/serving:0.1.0', ModelDataUrl: `s3://models/${name}.tar.gz` },
        }),
      );
    }
    const variant = (model: string, weight: number) => ({
      VariantName: model,
      ModelName: model,
      InitialInstanceCount: 1,
      InstanceType: 'ml.m4.xlarge' as const,
      InitialVariantWeight: weight,
    });
    await sagemaker.send(
      new CreateEndpointConfigCommand({ EndpointConfigName: 'iris-config-1', ProductionVariants: [variant('iris-1', 1)] }),
    );
    await sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'iris-config-2',
        ProductionVariants: [variant('iris-1', 0.9), variant('iris-2', 0.1)],
      }),
    );
    await sagemaker.send(new CreateEndpointCommand({ EndpointName: 'iris', EndpointConfigName: 'iris-config-1' }));
    await sagemaker.send(new UpdateEndpointCommand({ EndpointName: 'iris', EndpointConfigName: 'iris-config-2' }));
    const endpoint = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'iris' }));
    expect(endpoint).toMatchObject({ EndpointConfigName: 'iris-config-2', EndpointStatus: 'InService' });
    expect(endpoint.ProductionVariants?.map((v) => [v.VariantName, v.CurrentWeight])).toEqual([
      ['iris-1', 0.9],
      ['iris-2', 0.1],
    ]);
    await expect(
      sagemaker.send(new UpdateEndpointCommand({ EndpointName: 'missing', EndpointConfigName: 'iris-config-2' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Could not find endpoint') as string,
    });
  });
});

describe('AWS errors from the real SDK, classified where caught', () => {
  let moto: MotoServer;
  let sagemaker: SageMakerClient;
  const op = (action: string, resource?: string) => ({ action: `sagemaker:${action}`, resource, region: 'us-east-1' });
  beforeAll(async () => {
    moto = await startMoto();
    sagemaker = new SageMakerClient({
      endpoint: moto.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
  });
  afterAll(async () => {
    await moto?.stop();
  });

  const failure = async (run: () => Promise<unknown>): Promise<unknown> =>
    run().then(
      () => expect.unreachable(),
      (error: unknown) => error,
    );

  it('a missing endpoint is RESOURCE_DOES_NOT_EXIST', async () => {
    const error = classifyAwsError(
      await failure(() => sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'nothing' }))),
      op('DescribeEndpoint', 'nothing'),
    );
    expect(error.code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(error.message).toMatch(/^sagemaker:DescribeEndpoint nothing in us-east-1 failed: Could not find endpoint/);
  });

  it('an endpoint config that names a missing one is RESOURCE_DOES_NOT_EXIST too', async () => {
    const error = classifyAwsError(
      await failure(() => sagemaker.send(new CreateEndpointCommand({ EndpointName: 'e', EndpointConfigName: 'no-such-config' }))),
      op('CreateEndpoint', 'e'),
    );
    expect(error.code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('AccessDenied names the IAM action; throttling and 5xx are limits and unavailability; bad credentials are UNAUTHENTICATED', () => {
    const aws = (name: string, status: number, message = 'denied') =>
      Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
    const denied = classifyAwsError(
      aws('AccessDeniedException', 400, 'User is not authorized to perform: sagemaker:CreateEndpoint'),
      op('CreateEndpoint', 'iris'),
    );
    expect(denied.code).toBe('PERMISSION_DENIED');
    expect(denied.message).toContain('the credentials lack sagemaker:CreateEndpoint');
    expect(classifyAwsError(aws('ThrottlingException', 400, 'Rate exceeded'), op('DescribeEndpoint')).code).toBe('REQUEST_LIMIT_EXCEEDED');
    expect(classifyAwsError(aws('InternalFailure', 500, 'oops'), op('DescribeEndpoint')).code).toBe('TEMPORARILY_UNAVAILABLE');
    expect(classifyAwsError(aws('ExpiredTokenException', 400, 'expired'), op('DescribeEndpoint')).code).toBe('UNAUTHENTICATED');
    expect(
      classifyAwsError(aws('ValidationException', 400, 'Value at instanceCount failed to satisfy constraint'), op('CreateEndpointConfig'))
        .code,
    ).toBe('INVALID_PARAMETER_VALUE');
  });

  it('credentials AWS does not know are UNAUTHENTICATED even when answered with 403 (checked before the 403 rule)', () => {
    const aws = (name: string, status: number) =>
      Object.assign(new Error('The security token included in the request is invalid.'), {
        name,
        $fault: 'client',
        $metadata: { httpStatusCode: status },
      });
    for (const name of ['InvalidClientTokenId', 'InvalidAccessKeyId', 'InvalidToken', 'ExpiredToken', 'SignatureDoesNotMatch']) {
      expect(classifyAwsError(aws(name, 403), op('DescribeEndpoint')).code, name).toBe('UNAUTHENTICATED');
    }
    expect(classifyAwsError(aws('AccessDenied', 403), op('DescribeEndpoint')).code).toBe('PERMISSION_DENIED');
  });

  it('a service quota (ResourceLimitExceeded) is REQUEST_LIMIT_EXCEEDED, marked not retryable, with a hint about quotas', () => {
    const quota = Object.assign(new Error('The account-level service limit ml.g5.xlarge for endpoint usage is 0 Instances'), {
      name: 'ResourceLimitExceeded',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    const error = classifyAwsError(quota, op('CreateEndpoint', 'iris'));
    expect(error.code).toBe('REQUEST_LIMIT_EXCEEDED');
    expect(error.details).toMatchObject({ quota: true, retryable: false });
    expect(error.hint).toContain('Service Quotas');
  });

  it("a validation message's echo of a container environment (or a tag) is redacted, the field kept; other values are not", () => {
    const echo = Object.assign(
      new Error(
        "1 validation error detected: Value '{DB_PASSWORD=hunter2, MLDEPLOY_MODEL_URI=s3://m/it's}' at 'primaryContainer.environment' failed to satisfy constraint: Map value must satisfy constraint",
      ),
      { name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 } },
    );
    const error = classifyAwsError(echo, op('CreateModel', 'iris-model'));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain("Value (redacted) at 'primaryContainer.environment' failed to satisfy constraint");
    expect(error.message).not.toContain('hunter2');
    expect((error.cause as Error).message).not.toContain('hunter2');
    expect(redactEchoedValues("Value 'ml.x9.huge' at 'productionVariants.1.member.instanceType' failed")).toBe(
      "Value 'ml.x9.huge' at 'productionVariants.1.member.instanceType' failed",
    );
    expect(redactEchoedValues("Value '[{Key=k, Value=secret}]' at 'tags' failed")).toBe("Value (redacted) at 'tags' failed");
  });
});
