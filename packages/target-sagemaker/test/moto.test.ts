import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  SageMakerClient,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
