/**
 * The IAM actions the `sagemaker` target calls, by what needs them: the policy of the identity
 * mldeploy runs as (`mldeploy help -t sagemaker` prints it as a policy document).
 */
export const IAM_ACTIONS = {
  deploy: [
    'sagemaker:CreateModel',
    'sagemaker:DescribeModel',
    'sagemaker:DeleteModel',
    'sagemaker:CreateEndpointConfig',
    'sagemaker:DescribeEndpointConfig',
    'sagemaker:DeleteEndpointConfig',
    'sagemaker:CreateEndpoint',
    'sagemaker:DescribeEndpoint',
    'sagemaker:UpdateEndpoint',
    'sagemaker:UpdateEndpointWeightsAndCapacities',
    'sagemaker:DeleteEndpoint',
    'sagemaker:ListEndpoints',
    'sagemaker:ListTags',
    'sagemaker:AddTags',
    'sagemaker:DeleteTags',
  ],
  predict: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync', 'sagemaker:InvokeEndpointWithResponseStream'],
  /**
   * Model uploads (local folders, in parts: AbortMultipartUpload removes a failed one's parts),
   * async predictions' inputs and outputs, the default bucket.
   */
  s3: [
    's3:CreateBucket',
    's3:ListBucket',
    's3:PutObject',
    's3:PutObjectTagging',
    's3:AbortMultipartUpload',
    's3:GetObject',
    's3:DeleteObject',
  ],
  /**
   * Passing the execution role to SageMaker; the caller's role's ARN with its path (GetRole: the
   * default execution role); finding the account and the caller; assume_role_arn.
   */
  identity: ['iam:PassRole', 'iam:GetRole', 'sts:GetCallerIdentity', 'sts:AssumeRole'],
} as const;

/** The actions as an IAM policy document (to narrow with Resource ARNs). */
export function iamPolicyJson(): string {
  const statement = (sid: string, actions: readonly string[]): Record<string, unknown> => ({
    Sid: sid,
    Effect: 'Allow',
    Action: actions,
    Resource: '*',
  });
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Statement: [
        statement('MldeployDeploy', IAM_ACTIONS.deploy),
        statement('MldeployPredict', IAM_ACTIONS.predict),
        statement('MldeployModelFiles', IAM_ACTIONS.s3),
        {
          ...statement('MldeployPassExecutionRole', ['iam:PassRole']),
          Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
        },
        statement('MldeployIdentity', ['iam:GetRole', 'sts:GetCallerIdentity', 'sts:AssumeRole']),
      ],
    },
    null,
    2,
  );
}
