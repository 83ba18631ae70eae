import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  ListEndpointConfigsCommand,
  ListModelsCommand,
  SageMakerClient,
  type DescribeEndpointOutput,
  type DescribeModelOutput,
} from '@aws-sdk/client-sagemaker';
import { ListBucketsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { runCli, type CliResult } from '../../../../test/support/run-cli.js';
import type { MotoServer } from './moto.js';

/** The account moto plays, and the execution role the tests give SageMaker. */
export const ACCOUNT = '123456789012';
export const ROLE = `arn:aws:iam::${ACCOUNT}:role/sagemaker-execution`;

/** What a test reads in moto as an administrator would in the AWS console. */
export interface AwsView {
  readonly sagemaker: SageMakerClient;
  readonly s3: S3Client;
  endpoint(name: string): Promise<DescribeEndpointOutput | undefined>;
  configOf(name: string): Promise<{ variants: { VariantName?: string; ModelName?: string; InitialVariantWeight?: number }[] }>;
  modelNames(): Promise<string[]>;
  configNames(): Promise<string[]>;
  buckets(): Promise<string[]>;
  objects(bucket: string): Promise<string[]>;
  model(name: string): Promise<DescribeModelOutput>;
}

/** The administrator's view of moto in `region`. */
export function awsView(moto: MotoServer, region = 'us-east-1'): AwsView {
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  const sagemaker = new SageMakerClient({ endpoint: moto.url, region, credentials });
  const s3 = new S3Client({ endpoint: moto.url, region, credentials, forcePathStyle: true });
  return {
    sagemaker,
    s3,
    endpoint: (name) => sagemaker.send(new DescribeEndpointCommand({ EndpointName: name })).catch(() => undefined),
    configOf: async (name) => ({
      variants: (await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name }))).ProductionVariants ?? [],
    }),
    modelNames: async () => ((await sagemaker.send(new ListModelsCommand({}))).Models ?? []).map((m) => m.ModelName ?? '').sort(),
    configNames: async () =>
      ((await sagemaker.send(new ListEndpointConfigsCommand({}))).EndpointConfigs ?? []).map((c) => c.EndpointConfigName ?? '').sort(),
    buckets: async () => ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name ?? '').sort(),
    objects: async (bucket) =>
      ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key ?? '').sort(),
    model: (name) => sagemaker.send(new DescribeModelCommand({ ModelName: name })),
  };
}

/** `mldeploy <command> -t <target> …` as a user runs it, with `env` (moto's, or moto's with the runtime stand-in). */
export function cliFor(target: string, env: () => Record<string, string>): (...args: string[]) => Promise<CliResult> {
  return (...args) => runCli([...args.slice(0, 1), '-t', target, ...args.slice(1)], { env: env(), timeoutMs: 60_000 });
}
