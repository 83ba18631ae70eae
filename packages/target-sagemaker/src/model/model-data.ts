import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, DeleteObjectCommand, HeadBucketCommand, type BucketLocationConstraint } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { MlDeployError, resolveModelLocation } from '@mldeploy/core';
import { create as createTar } from 'tar';
import type { AwsSession } from '../aws/aws-session.js';

const TARGET = 'sagemaker';

/**
 * Where a SageMaker model's files are:
 * - `uploaded`: a local MLflow model folder packed by mldeploy (`model.tar.gz` in the target's
 *   bucket, as MLflow does); mldeploy owns it and deletes it with the model unless `archive`;
 * - `s3`: files the user keeps in S3 (a registry version's artifacts, an `s3://` URI), read in
 *   place (a `.tar.gz`, or a folder given to SageMaker uncompressed); never deleted by mldeploy.
 */
export type ModelData =
  { readonly kind: 'uploaded'; readonly bucket: string; readonly key: string } | { readonly kind: 's3'; readonly uri: string };

/** What the target needs to find or make a model's files. */
export interface ModelDataRequest {
  readonly modelUri: string;
  /** The SageMaker model's name, the key prefix of an upload. */
  readonly modelName: string;
  /** The bucket uploads go to (created when it is the default one and missing). */
  readonly bucket: () => Promise<string>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** The folder a local model URI names (`/path`, `./path`, `file:///path`), or `undefined` for a URI with another scheme. */
function localFolder(modelUri: string, cwd: string): string | undefined {
  if (modelUri.startsWith('file://')) return fileURLToPath(modelUri);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(modelUri)) return undefined;
  return path.resolve(cwd, modelUri);
}

/**
 * Finds where the model's files are (a registry URI resolved through the registry), uploading a
 * local folder as `s3://<bucket>/<model name>/model.tar.gz`. Checked before anything is made:
 * a folder that is not an MLflow model, or a URI SageMaker cannot read, is refused.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` for a model URI SageMaker cannot read;
 * `RESOURCE_DOES_NOT_EXIST` for a folder that is missing or has no MLmodel file.
 */
export async function locateModelData(request: ModelDataRequest): Promise<{ location: string; local: string | undefined }> {
  const { location } = await resolveModelLocation(request.modelUri, request.env, TARGET);
  if (location.startsWith('s3://')) return { location, local: undefined };
  const local = localFolder(location, request.cwd);
  if (local === undefined) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `SageMaker cannot read the model at ${JSON.stringify(location)}`, {
      target: TARGET,
      hint:
        'Give an s3:// URI, a local MLflow model folder (uploaded to the bucket), or a models:/ URI of a registry whose artifacts are in S3. ' +
        `Other models can be fetched first: mldeploy models download -m ${request.modelUri} -d ./model, then deploy ./model.`,
    });
  }
  const mlmodel = await stat(path.join(local, 'MLmodel')).catch(() => undefined);
  if (mlmodel?.isFile() !== true) {
    throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `${local} is not an MLflow model folder (it has no MLmodel file)`, {
      target: TARGET,
      hint: 'Give the folder that holds MLmodel, as `mlflow.<flavor>.save_model` writes it.',
    });
  }
  return { location: local, local };
}

/**
 * Makes the model's files readable by SageMaker: a local folder is packed (tar.gz, the folder's
 * contents at the root, which SageMaker unpacks into /opt/ml/model) and uploaded in parts.
 */
export async function prepareModelData(
  session: AwsSession,
  found: { location: string; local: string | undefined },
  request: ModelDataRequest,
  log: (line: string) => void,
): Promise<ModelData> {
  if (found.local === undefined) return { kind: 's3', uri: found.location };
  const bucket = await request.bucket();
  const key = `${request.modelName}/model.tar.gz`;
  log(`Uploading ${found.local} to s3://${bucket}/${key}…`);
  const body = Readable.from(createTar({ gzip: true, cwd: found.local, portable: true }, ['.']));
  const upload = new Upload({
    client: session.s3,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: 'application/gzip', Tagging: 'SageMaker=true' },
    // Parts of 16 MiB, 4 at a time: a model of several GB is uploaded in parts, resumably per part.
    partSize: 16 * 1024 * 1024,
    queueSize: 4,
  });
  await session.call('s3:PutObject', `s3://${bucket}/${key}`, () => upload.done());
  return { kind: 'uploaded', bucket, key };
}

/** The container fields that point SageMaker at the files: a tar.gz as ModelDataUrl, a folder as an uncompressed S3 prefix. */
export function containerModelData(data: ModelData): Record<string, unknown> {
  if (data.kind === 'uploaded') return { ModelDataUrl: `s3://${data.bucket}/${data.key}` };
  if (data.uri.endsWith('.tar.gz')) return { ModelDataUrl: data.uri };
  return {
    ModelDataSource: {
      S3DataSource: { S3Uri: data.uri.endsWith('/') ? data.uri : `${data.uri}/`, S3DataType: 'S3Prefix', CompressionType: 'None' },
    },
  };
}

/** Deletes an artifact mldeploy uploaded; the user's own files are never touched. */
export async function deleteUploadedModelData(session: AwsSession, data: ModelData): Promise<void> {
  if (data.kind !== 'uploaded') return;
  await session.call('s3:DeleteObject', `s3://${data.bucket}/${data.key}`, () =>
    session.s3.send(new DeleteObjectCommand({ Bucket: data.bucket, Key: data.key })),
  );
}

/**
 * The bucket models are uploaded to: `bucket`, or MLflow's default made mldeploy's
 * (`mldeploy-sagemaker-<region>-<account>`), created when missing. The default name has
 * "sagemaker" in it, which SageMaker's managed execution policy may read.
 */
export async function ensureBucket(session: AwsSession, bucket: string | undefined): Promise<string> {
  if (bucket !== undefined) return bucket;
  const { account } = await session.identity();
  const name = `mldeploy-sagemaker-${session.region}-${account}`;
  try {
    await session.call('s3:ListBucket', `s3://${name}`, () => session.s3.send(new HeadBucketCommand({ Bucket: name })));
    return name;
  } catch (error) {
    if (!(error instanceof MlDeployError) || error.code !== 'RESOURCE_DOES_NOT_EXIST') throw error;
  }
  await session.call('s3:CreateBucket', `s3://${name}`, () =>
    session.s3.send(
      new CreateBucketCommand({
        Bucket: name,
        // us-east-1 is the one region that refuses a location constraint naming itself.
        ...(session.region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: session.region as BucketLocationConstraint } }),
      }),
    ),
  );
  return name;
}
