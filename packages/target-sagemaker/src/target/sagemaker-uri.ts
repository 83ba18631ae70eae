import { MlDeployError, parseTargetUri } from '@mldeploy/core';

/** What a `sagemaker` target URI names: a region and a role to assume, each optional. */
export interface SageMakerLocation {
  readonly region: string | undefined;
  readonly assumeRoleArn: string | undefined;
}

/**
 * Parses `sagemaker`, `sagemaker:/<region>` and `sagemaker:/<region>/<assume-role-arn>` as MLflow
 * does (`_get_values_from_target_uri`): the part up to the first `/` is the region, the rest (with
 * extra slashes before it dropped) the role ARN.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` for a role ARN without a region, as MLflow.
 */
export function parseSageMakerUri(uri: string): SageMakerLocation {
  const values = parseTargetUri(uri).suffix.replace(/^\/+|\/+$/g, '');
  if (values === '') return { region: undefined, assumeRoleArn: undefined };
  const slash = values.indexOf('/');
  const region = slash === -1 ? values : values.slice(0, slash);
  const assumeRoleArn = slash === -1 ? undefined : values.slice(slash + 1).replace(/^\/+/, '');
  if (region.startsWith('arn')) {
    throw new MlDeployError(
      'INVALID_PARAMETER_VALUE',
      `The target URI ${JSON.stringify(uri)} names an IAM role ARN without a region; a region must come first when it names a role`,
      {
        target: 'sagemaker',
        hint: 'Use sagemaker:/<region>/<assume-role-arn>, e.g. sagemaker:/us-east-1/arn:aws:iam::123456789012:role/deployer.',
      },
    );
  }
  return { region, assumeRoleArn: assumeRoleArn === '' ? undefined : assumeRoleArn };
}
