import { readdir, realpath, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, DeleteObjectCommand, HeadBucketCommand, type BucketLocationConstraint } from '@aws-sdk/client-s3';
import type { ContainerDefinition } from '@aws-sdk/client-sagemaker';
import { Upload } from '@aws-sdk/lib-storage';
import { MlDeployError, isMlDeployError, resolveModelLocation } from '@mldeploy/core';
import { create as createTar } from 'tar';
import type { AwsSession } from '../aws/aws-session.js';

const TARGET = 'sagemaker';

/**
 * Where a SageMaker model's files are:
 * - `uploaded`: a local MLflow model folder packed by mldeploy (`model.tar.gz` in the target's
 *   bucket, as MLflow does); mldeploy owns it and deletes it with the model unless `archive`;
 * - `s3`: files the user keeps in S3 (a registry version's artifacts, an `s3://` URI), read in
 *   place (a `.tar.gz`, or a folder given to SageMaker uncompressed); never deleted by mldeploy;
 * - `reused`: the files of the model a deployment runs now, given again as they are (an update
 *   without a new model URI); `owned` when they are an upload the new model takes over.
 */
export type ModelData =
  | { readonly kind: 'uploaded'; readonly bucket: string; readonly key: string }
  | { readonly kind: 's3'; readonly uri: string }
  | {
      readonly kind: 'reused';
      readonly container: Pick<ContainerDefinition, 'ModelDataUrl' | 'ModelDataSource'>;
      readonly url: string;
      readonly owned: boolean;
    };

/** The default bucket's name pattern, `mldeploy-sagemaker-<region>-<account>`: its owner is in its name. */
const DEFAULT_BUCKET = /^mldeploy-sagemaker-[a-z0-9-]+-(\d{12})$/;

/**
 * `ExpectedBucketOwner` for S3 calls to a bucket named as the default one: S3 refuses the call
 * when another account owns the bucket (a squatter who made the name first), so that no model is
 * uploaded to, or read from, someone else's bucket. Empty for other buckets.
 */
export function expectedOwner(bucket: string): { ExpectedBucketOwner?: string } {
  const account = DEFAULT_BUCKET.exec(bucket)?.[1];
  return account === undefined ? {} : { ExpectedBucketOwner: account };
}

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
  await checkSymlinks(local);
  return { location: local, local };
}

/**
 * Refuses a model folder with a symbolic link that leads out of it (its target would be packed
 * and uploaded: `key -> ~/.ssh/id_rsa`), points to nothing, or loops back to a folder it is in.
 * The folder is walked as the archive will be, links followed; the other links are packed as the
 * files they point to.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` naming the link.
 */
async function checkSymlinks(folder: string): Promise<void> {
  const root = await realpath(folder);
  const inside = (target: string): boolean => target === root || target.startsWith(`${root}${path.sep}`);
  const refuse = (link: string, why: string): MlDeployError =>
    new MlDeployError('INVALID_PARAMETER_VALUE', `The model folder ${folder} has a symbolic link ${link} that ${why}`, {
      target: TARGET,
      hint: 'Replace the link by a copy of what it points to, or remove it: only the model folder is uploaded.',
    });
  // `dir` is a real path; `shown` the same folder as the archive names it; `above` the real folders walked into.
  const walk = async (dir: string, shown: string, above: ReadonlySet<string>): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const named = path.join(shown, entry.name);
      let real = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        const target = await realpath(real).catch(() => undefined);
        if (target === undefined) throw refuse(named, 'points to nothing');
        if (!inside(target)) throw refuse(named, `leads out of it (to ${target})`);
        if (!(await stat(target)).isDirectory()) continue;
        real = target;
      } else if (!entry.isDirectory()) continue;
      if (above.has(real)) throw refuse(named, 'loops back to a folder it is in');
      await walk(real, named, new Set([...above, real]));
    }
  };
  await walk(root, '', new Set([root]));
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
  // Links (all inside the folder: checked by locateModelData) are packed as the files they point to.
  const body = Readable.from(createTar({ gzip: true, cwd: found.local, portable: true, follow: true }, ['.']));
  const upload = new Upload({
    client: session.s3,
    params: {
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: 'application/gzip',
      Tagging: 'SageMaker=true',
      ...expectedOwner(bucket),
    },
    // Parts of 16 MiB, 4 at a time: a model of several GB is uploaded in parts, resumably per part.
    partSize: 16 * 1024 * 1024,
    queueSize: 4,
  });
  await session.call('s3:PutObject', `s3://${bucket}/${key}`, () => upload.done());
  return { kind: 'uploaded', bucket, key };
}

/** The container fields that point SageMaker at the files: a tar.gz as ModelDataUrl, a folder as an uncompressed S3 prefix. */
export function containerModelData(data: ModelData): Pick<ContainerDefinition, 'ModelDataUrl' | 'ModelDataSource'> {
  if (data.kind === 'reused') return data.container;
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
    session.s3.send(new DeleteObjectCommand({ Bucket: data.bucket, Key: data.key, ...expectedOwner(data.bucket) })),
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
    await session.call('s3:ListBucket', `s3://${name}`, () =>
      session.s3.send(new HeadBucketCommand({ Bucket: name, ExpectedBucketOwner: account })),
    );
    return name;
  } catch (error) {
    if (isMlDeployError(error) && error.code === 'PERMISSION_DENIED') throw notOurs(name, account, error);
    if (!isMlDeployError(error) || error.code !== 'RESOURCE_DOES_NOT_EXIST') throw error;
  }
  try {
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
  } catch (error) {
    // Made meanwhile by this account (another mldeploy run): as good as made here.
    if (isMlDeployError(error) && (error.cause as { name?: unknown } | undefined)?.name === 'BucketAlreadyOwnedByYou') return name;
    if (isMlDeployError(error) && (error.cause as { name?: unknown } | undefined)?.name === 'BucketAlreadyExists') {
      throw notOurs(name, account, error);
    }
    throw error;
  }
  return name;
}

/** The default bucket's name is taken by another account (bucket names are global), or S3 refuses to say. */
function notOurs(name: string, account: string, cause: MlDeployError): MlDeployError {
  return new MlDeployError(
    'PERMISSION_DENIED',
    `The default bucket s3://${name} is not account ${account}'s, or the credentials lack s3:ListBucket on it: nothing is uploaded to it`,
    {
      target: TARGET,
      cause,
      details: { action: 's3:ListBucket' },
      hint: 'Pass -C bucket=<a bucket of yours>, or grant s3:ListBucket on the default bucket.',
    },
  );
}
