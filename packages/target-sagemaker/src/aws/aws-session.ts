import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { MlDeployError } from '@mldeploy/core';
import { classifyAwsError, type AwsOperation } from './aws-errors.js';

type Env = Readonly<Record<string, string | undefined>>;

interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  /** When temporary credentials (an assumed role's) stop working. */
  readonly expiration?: Date | undefined;
}

/** Temporary credentials are fetched again this long before they expire (the SDK's own margin). */
const REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * A credential provider (what the SDK's `credentials` option takes) over `fetch`: the credentials
 * are fetched once and shared, then fetched again when they are within 5 minutes of their
 * expiration (an assumed role's last an hour: a long wait or a long-lived client outlives them).
 * A failed fetch is not kept: the next call tries again.
 */
export function refreshingCredentials(fetch: () => Promise<Credentials>, now: () => number = Date.now): () => Promise<Credentials> {
  let pending: Promise<Credentials> | undefined;
  // Replaces `stale` by a new fetch; a caller that comes after another one's refresh gets that one.
  const refresh = (stale: Promise<Credentials> | undefined): Promise<Credentials> => {
    if (pending === stale) pending = fetch();
    return pending!;
  };
  return async () => {
    const current = pending;
    if (current === undefined) return refresh(undefined);
    const got = await current.catch(() => undefined);
    if (got !== undefined && (got.expiration === undefined || got.expiration.getTime() - now() > REFRESH_BEFORE_MS)) return got;
    return refresh(current);
  };
}

/** Throttled calls are retried by the SDK (standard mode: exponential backoff with jitter). */
const MAX_ATTEMPTS = 6;

/**
 * The AWS clients of one region, with the credentials of the SDK's default chain (or of the role
 * the target URI or `assume_role_arn` names, assumed again before its credentials expire), and
 * every call classified where caught.
 */
export interface AwsSession {
  readonly region: string;
  readonly sagemaker: SageMakerClient;
  readonly runtime: SageMakerRuntimeClient;
  readonly s3: S3Client;
  /** IAM (global), for the execution role's ARN (GetRole). */
  readonly iam: IAMClient;
  /** Calls `send` and turns any AWS error into an `MlDeployError` naming `action` and `resource`. */
  call<T>(action: string, resource: string | undefined, send: () => Promise<T>): Promise<T>;
  /** Who the credentials are: the account, and the caller's ARN (STS GetCallerIdentity, asked once). */
  identity(): Promise<{ readonly account: string; readonly arn: string }>;
}

/**
 * A service's endpoint from the environment as the AWS CLI reads it (`AWS_ENDPOINT_URL_<SERVICE>`,
 * then `AWS_ENDPOINT_URL`): for VPC endpoints, and for AWS stand-ins in tests. Passed explicitly
 * because plugins get the environment from the caller, not from `process.env`.
 */
function endpointFor(env: Env, service: string): string | undefined {
  return env[`AWS_ENDPOINT_URL_${service}`] ?? env['AWS_ENDPOINT_URL'];
}

function staticCredentials(env: Env): Credentials | undefined {
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (accessKeyId === undefined || secretAccessKey === undefined) return undefined;
  return { accessKeyId, secretAccessKey, sessionToken: env['AWS_SESSION_TOKEN'] };
}

/**
 * Opens the session: assumes `assumeRoleArn` when given (as MLflow does, session name
 * `mldeploy-sagemaker`; assumed again 5 minutes before the credentials expire), else uses the
 * caller's environment's keys or, without them, the SDK's default chain (profiles, SSO,
 * container and instance roles).
 *
 * @throws MlDeployError classified from STS when the role cannot be assumed.
 */
export async function openAwsSession(region: string, assumeRoleArn: string | undefined, env: Env): Promise<AwsSession> {
  const common = (service: string): { region: string; maxAttempts: number; endpoint?: string } => {
    const endpoint = endpointFor(env, service);
    return { region, maxAttempts: MAX_ATTEMPTS, ...(endpoint === undefined ? {} : { endpoint }) };
  };
  const call = async <T>(action: string, resource: string | undefined, send: () => Promise<T>): Promise<T> => {
    try {
      return await send();
    } catch (error) {
      const op: AwsOperation = { action, resource, region };
      throw classifyAwsError(error, op);
    }
  };
  const caller = staticCredentials(env);
  const sts = new STSClient({ ...common('STS'), ...(caller === undefined ? {} : { credentials: caller }) });
  let credentials: Credentials | (() => Promise<Credentials>) | undefined = caller;
  if (assumeRoleArn !== undefined) {
    const provider = refreshingCredentials(async () => {
      const assumed = await call('sts:AssumeRole', assumeRoleArn, () =>
        sts.send(new AssumeRoleCommand({ RoleArn: assumeRoleArn, RoleSessionName: 'mldeploy-sagemaker' })),
      );
      const given = assumed.Credentials;
      if (given?.AccessKeyId === undefined || given.SecretAccessKey === undefined) {
        throw new MlDeployError('INTERNAL_ERROR', `STS AssumeRole of ${assumeRoleArn} returned no credentials`, { target: 'sagemaker' });
      }
      return {
        accessKeyId: given.AccessKeyId,
        secretAccessKey: given.SecretAccessKey,
        sessionToken: given.SessionToken,
        expiration: given.Expiration,
      };
    });
    // Assumed now, so that a role that cannot be assumed fails the open (and is not kept).
    await provider();
    credentials = provider;
  }
  const withCredentials = credentials === undefined ? {} : { credentials };
  const s3Endpoint = endpointFor(env, 'S3');
  let identity: Promise<{ account: string; arn: string }> | undefined;
  const stsAsCaller = assumeRoleArn === undefined ? sts : new STSClient({ ...common('STS'), ...withCredentials });
  return {
    region,
    sagemaker: new SageMakerClient({ ...common('SAGEMAKER'), ...withCredentials }),
    runtime: new SageMakerRuntimeClient({ ...common('SAGEMAKER_RUNTIME'), ...withCredentials }),
    // A custom S3 endpoint (a VPC endpoint, an S3-compatible store) is addressed by path, which all of them serve.
    s3: new S3Client({ ...common('S3'), ...withCredentials, ...(s3Endpoint === undefined ? {} : { forcePathStyle: true }) }),
    iam: new IAMClient({ ...common('IAM'), ...withCredentials }),
    call,
    identity: () => {
      identity ??= call('sts:GetCallerIdentity', undefined, () => stsAsCaller.send(new GetCallerIdentityCommand({}))).then((who) => {
        if (who.Account === undefined || who.Arn === undefined)
          throw new MlDeployError('INTERNAL_ERROR', 'STS GetCallerIdentity returned no account', { target: 'sagemaker' });
        return { account: who.Account, arn: who.Arn };
      });
      return identity;
    },
  };
}
