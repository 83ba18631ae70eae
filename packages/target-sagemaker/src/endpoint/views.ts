import type { DescribeEndpointConfigOutput, DescribeEndpointOutput, DescribeModelOutput } from '@aws-sdk/client-sagemaker';
import type { Deployment, Endpoint } from '@mldeploy/core';
import { MODEL_ENV } from './endpoint-resources.js';

/** mldeploy's state words for SageMaker's endpoint statuses (the raw status is in `endpoint_status`). */
function stateOf(status: string | undefined): string {
  switch (status) {
    case 'InService':
      return 'ready';
    case 'Creating':
      return 'creating';
    case 'Updating':
    case 'SystemUpdating':
    case 'RollingBack':
    case 'UpdateRollbackFailed':
      return 'updating';
    case 'Deleting':
      return 'deleting';
    case 'Failed':
      return 'failed';
    default:
      return 'unknown';
  }
}

/** A variant as `get` shows it: what it serves and its share of traffic. */
function variantView(
  endpoint: DescribeEndpointOutput,
  config: DescribeEndpointConfigOutput | undefined,
  models: ReadonlyMap<string, DescribeModelOutput | undefined>,
): Record<string, unknown>[] {
  return (endpoint.ProductionVariants ?? []).map((summary) => {
    const variant = config?.ProductionVariants?.find((v) => v.VariantName === summary.VariantName);
    const model = variant?.ModelName === undefined ? undefined : models.get(variant.ModelName);
    const env = model?.PrimaryContainer?.Environment ?? {};
    return {
      variant_name: summary.VariantName,
      model_name: variant?.ModelName ?? null,
      model_uri: env[MODEL_ENV.modelUri] ?? null,
      flavor: env[MODEL_ENV.flavor] ?? null,
      current_weight: summary.CurrentWeight ?? null,
      desired_weight: summary.DesiredWeight ?? null,
      instance_type: variant?.InstanceType ?? null,
      current_instance_count: summary.CurrentInstanceCount ?? null,
      serverless: variant?.ServerlessConfig !== undefined,
    };
  });
}

/**
 * A deployment (a SageMaker endpoint) as `get` shows it. The model and flavor are those of the
 * variant with the most traffic. The container's environment is not shown: it may hold secrets.
 */
export function deploymentView(
  region: string,
  endpoint: DescribeEndpointOutput,
  config: DescribeEndpointConfigOutput | undefined,
  models: ReadonlyMap<string, DescribeModelOutput | undefined>,
): Deployment {
  const variants = variantView(endpoint, config, models);
  const primary = [...variants].sort((a, b) => Number(b['current_weight'] ?? 0) - Number(a['current_weight'] ?? 0))[0];
  return {
    name: endpoint.EndpointName ?? '',
    flavor: (primary?.['flavor'] as string | null | undefined) ?? null,
    state: stateOf(endpoint.EndpointStatus),
    endpoint_status: endpoint.EndpointStatus ?? null,
    model_uri: primary?.['model_uri'] ?? null,
    region,
    endpoint_arn: endpoint.EndpointArn ?? null,
    endpoint_config_name: endpoint.EndpointConfigName ?? null,
    variants,
    async_inference: config?.AsyncInferenceConfig !== undefined,
    failure_reason: endpoint.FailureReason ?? null,
    last_deployment_config: endpoint.LastDeploymentConfig ?? null,
    creation_time: endpoint.CreationTime?.toISOString() ?? null,
    last_modified_time: endpoint.LastModifiedTime?.toISOString() ?? null,
  };
}

/** An mldeploy endpoint (a SageMaker endpoint whose variants are deployments) as `get-endpoint` shows it. */
export function endpointView(region: string, endpoint: DescribeEndpointOutput, config: DescribeEndpointConfigOutput | undefined): Endpoint {
  const variants = variantView(endpoint, config, new Map());
  return {
    name: endpoint.EndpointName ?? '',
    state: stateOf(endpoint.EndpointStatus),
    endpoint_status: endpoint.EndpointStatus ?? null,
    traffic: Object.fromEntries(variants.map((v) => [v['variant_name'], v['current_weight']])),
    region,
    endpoint_arn: endpoint.EndpointArn ?? null,
    endpoint_config_name: endpoint.EndpointConfigName ?? null,
    variants: variants.map(({ model_uri: _uri, flavor: _flavor, ...rest }) => rest),
    failure_reason: endpoint.FailureReason ?? null,
  };
}
