import { GetRoleCommand } from '@aws-sdk/client-iam';
import { MlDeployError, isMlDeployError } from '@mldeploy/core';
import type { AwsSession } from '../aws/aws-session.js';

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

const ROLE_HINT = 'Pass -C execution_role_arn=arn:aws:iam::<account>:role/<a role SageMaker may assume>.';

/**
 * The execution role when `execution_role_arn` is not given: the role of the caller's own
 * credentials, as MLflow does. An assumed-role session ARN (`arn:aws:sts::<account>:assumed-role/
 * <name>/<session>`) does not carry the role's IAM path (`service-role/`, SSO's
 * `aws-reserved/sso.amazonaws.com/…`), so the role's real ARN is asked of IAM (`GetRole` on its
 * name), as MLflow does. Credentials of an IAM user have no role to give SageMaker: refused,
 * naming the key to set.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` when the caller is not a role;
 * `PERMISSION_DENIED` naming `iam:GetRole` when IAM refuses it.
 */
export async function defaultExecutionRole(session: AwsSession): Promise<string> {
  const callerArn = (await session.identity()).arn;
  const assumed = /^arn:aws[a-z-]*:sts::\d+:assumed-role\/(.+)\/[^/]+$/.exec(callerArn);
  if (assumed === null) return executionRoleOf(callerArn);
  const roleName = assumed[1]!;
  let described;
  try {
    described = await session.call('iam:GetRole', roleName, () => session.iam.send(new GetRoleCommand({ RoleName: roleName })));
  } catch (error) {
    if (isMlDeployError(error) && error.code === 'PERMISSION_DENIED') {
      throw new MlDeployError('PERMISSION_DENIED', `${error.message}; it is needed to find the execution role's ARN`, {
        target: 'sagemaker',
        cause: error,
        details: error.details,
        hint: `Grant iam:GetRole on the caller's role, or ${ROLE_HINT.charAt(0).toLowerCase()}${ROLE_HINT.slice(1)}`,
      });
    }
    throw error;
  }
  const arn = described.Role?.Arn;
  if (arn === undefined) throw new MlDeployError('INTERNAL_ERROR', `IAM GetRole of ${roleName} returned no ARN`, { target: 'sagemaker' });
  return arn;
}

/**
 * The execution role for a caller ARN that is a role's own (`arn:aws:iam::<account>:role/…`).
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` when the caller is not a role (an IAM user).
 */
function executionRoleOf(callerArn: string): string {
  if (/^arn:aws[a-z-]*:iam::\d+:role\//.test(callerArn)) return callerArn;
  throw new MlDeployError(
    'INVALID_PARAMETER_VALUE',
    `SageMaker needs an execution role, and the credentials in use are not a role's (${callerArn})`,
    { target: 'sagemaker', hint: ROLE_HINT },
  );
}
