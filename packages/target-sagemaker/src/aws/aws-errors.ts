import { MlDeployError, isMlDeployError } from '@mldeploy/core';

/** What was being done when an AWS call failed, for the message: `CreateEndpoint iris in us-east-1`. */
export interface AwsOperation {
  /** The API action, as IAM names it: `sagemaker:CreateEndpoint`, `s3:PutObject`. */
  readonly action: string;
  readonly resource?: string | undefined;
  readonly region: string;
}

/** The fields of an AWS SDK v3 service exception this module reads. */
interface ServiceException {
  readonly name: string;
  readonly message: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

function serviceException(error: unknown): ServiceException | undefined {
  if (!(error instanceof Error)) return undefined;
  const status = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  return typeof status === 'number' || (error as { $fault?: unknown }).$fault !== undefined ? error : undefined;
}

const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown']);
const ACCESS_DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'NotAuthorized']);
const UNAUTHENTICATED = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
  'InvalidAccessKeyId',
  'InvalidToken',
]);

/**
 * A validation message's echo of a rejected value whose field may hold secrets (a container's
 * environment, tags, anything named like a secret): `Value '…' at 'primaryContainer.environment'`.
 */
const ECHOED_VALUE = /Value ('(?:[^']|'(?! at '))*'|\{[^}]*\}|\[[^\]]*\]|\S+) at '([^']*)'/g;
const SENSITIVE_FIELD = /environment|tags?\b|secret|password|token|credential|key/i;

/** `message` with the values echoed for sensitive fields dropped (the field path kept). */
export function redactEchoedValues(message: string): string {
  return message.replace(ECHOED_VALUE, (whole, _value: string, field: string) =>
    SENSITIVE_FIELD.test(field) ? `Value (redacted) at '${field}'` : whole,
  );
}

/**
 * Classifies an AWS error where it is caught: a `ValidationException` saying "Could not find …"
 * → `RESOURCE_DOES_NOT_EXIST`, other validation errors → `INVALID_PARAMETER_VALUE`,
 * `ResourceInUse` / "Cannot create already existing" → `RESOURCE_ALREADY_EXISTS`,
 * bad or expired credentials → `UNAUTHENTICATED` (checked first: AWS answers some of them with
 * 403), access denied → `PERMISSION_DENIED` naming the IAM action, throttling →
 * `REQUEST_LIMIT_EXCEEDED` (already retried by the SDK), `ResourceLimitExceeded` (a service
 * quota) → `REQUEST_LIMIT_EXCEEDED` with `details.retryable: false` and a hint about quotas,
 * 5xx → `TEMPORARILY_UNAVAILABLE`. Values that validation messages echo for sensitive fields
 * (a container's environment) are redacted.
 */
export function classifyAwsError(error: unknown, op: AwsOperation): MlDeployError {
  if (isMlDeployError(error)) return error;
  const options: { target: string; cause: unknown } = { target: 'sagemaker', cause: error };
  const what = `${op.action}${op.resource === undefined ? '' : ` ${op.resource}`} in ${op.region}`;
  if (error instanceof Error && error.name === 'CredentialsProviderError') {
    return new MlDeployError('UNAUTHENTICATED', `No AWS credentials for ${what}: ${error.message}`, {
      ...options,
      hint: 'Configure credentials as the AWS CLI does (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role).',
    });
  }
  const aws = serviceException(error);
  if (aws === undefined) {
    const message = error instanceof Error ? error.message : String(error);
    return new MlDeployError('TEMPORARILY_UNAVAILABLE', `Cannot reach AWS for ${what}: ${message}`, {
      ...options,
      hint: 'Check the network and the region.',
    });
  }
  const status = aws.$metadata?.httpStatusCode ?? 0;
  const message = redactEchoedValues(aws.message);
  const said = `${aws.name}: ${message}`;
  // A redacted message is not undone by the cause (--verbose prints causes): it gets the redacted text too.
  if (message !== aws.message) options.cause = Object.assign(new Error(message), { name: aws.name, $metadata: aws.$metadata });
  if (aws.name === 'ValidationException' && /could not find|does not exist|not found/i.test(message)) {
    return new MlDeployError('RESOURCE_DOES_NOT_EXIST', `${what} failed: ${message}`, options);
  }
  if (aws.name === 'ResourceInUse' || aws.name === 'ResourceInUseException' || /cannot create already existing/i.test(message)) {
    return new MlDeployError('RESOURCE_ALREADY_EXISTS', `${what} failed: ${message}`, options);
  }
  if (aws.name === 'ResourceNotFound' || aws.name === 'NoSuchBucket' || aws.name === 'NoSuchKey' || status === 404) {
    return new MlDeployError('RESOURCE_DOES_NOT_EXIST', `${what} failed: ${said}`, options);
  }
  // Before the 403 rule: AWS answers an unknown key or a bad token with 403 too.
  if (UNAUTHENTICATED.has(aws.name) || status === 401) {
    return new MlDeployError('UNAUTHENTICATED', `AWS did not accept the credentials for ${what} (${said})`, {
      ...options,
      hint: 'Refresh the credentials (an expired session token, a wrong key).',
    });
  }
  if (ACCESS_DENIED.has(aws.name) || status === 403) {
    return new MlDeployError('PERMISSION_DENIED', `AWS refused ${what}: the credentials lack ${op.action} (${said})`, {
      ...options,
      details: { action: op.action },
      hint: "Grant the IAM actions 'mldeploy help -t sagemaker' lists.",
    });
  }
  if (aws.name === 'ResourceLimitExceeded') {
    // A service quota (instances of a type, endpoints per account): trying again does not help.
    // The code stays REQUEST_LIMIT_EXCEEDED (429), which core's isTransient reads as transient by
    // code alone; details.retryable says it is not, for callers that retry on their own.
    return new MlDeployError('REQUEST_LIMIT_EXCEEDED', `${what} failed: ${said}`, {
      ...options,
      details: { quota: true, retryable: false },
      hint: 'A SageMaker service quota is reached: free capacity (delete unused endpoints) or ask for more in the Service Quotas console.',
    });
  }
  if (THROTTLING.has(aws.name) || status === 429) {
    return new MlDeployError('REQUEST_LIMIT_EXCEEDED', `${what} failed: ${said}`, options);
  }
  if (aws.name === 'ValidationException' || status === 400) {
    return new MlDeployError('INVALID_PARAMETER_VALUE', `${what} failed: ${message}`, options);
  }
  return new MlDeployError(status >= 500 ? 'TEMPORARILY_UNAVAILABLE' : 'INTERNAL_ERROR', `${what} failed: ${said}`, options);
}
