import { MlDeployError } from '@mldeploy/core';

/** The version of the serving image this plugin was made with (the SageMaker image's tag). */
export const IMAGE_VERSION = '0.1.0';

/**
 * The default serving image, as MLflow's default is its `mlflow-pyfunc` image in the account's
 * own ECR: `<account>.dkr.ecr.<region>.amazonaws.com/mldeploy-sagemaker:<version>`, built from
 * this package's Dockerfile and pushed there (docs/targets/sagemaker.md says how).
 */
export function defaultImageUrl(account: string, region: string): string {
  return `${account}.dkr.ecr.${region}.amazonaws.com/mldeploy-sagemaker:${IMAGE_VERSION}`;
}

/**
 * The execution role when `execution_role_arn` is not given: the role of the caller's own
 * credentials, as MLflow does (an assumed-role session ARN becomes its role's ARN). Credentials
 * of an IAM user have no role to give SageMaker: refused, naming the key to set.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` when the caller is not a role.
 */
export function executionRoleOf(callerArn: string): string {
  const assumed = /^arn:(aws[a-z-]*):sts::(\d+):assumed-role\/(.+)\/[^/]+$/.exec(callerArn);
  if (assumed !== null) return `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}`;
  if (/^arn:aws[a-z-]*:iam::\d+:role\//.test(callerArn)) return callerArn;
  throw new MlDeployError(
    'INVALID_PARAMETER_VALUE',
    `SageMaker needs an execution role, and the credentials in use are not a role's (${callerArn})`,
    {
      target: 'sagemaker',
      hint: 'Pass -C execution_role_arn=arn:aws:iam::<account>:role/<a role SageMaker may assume>.',
    },
  );
}
