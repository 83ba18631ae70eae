import { z } from 'zod';

const capacity = z.strictObject({ Type: z.enum(['INSTANCE_COUNT', 'CAPACITY_PERCENT']), Value: z.int().min(1) });
const seconds = (max: number): z.ZodInt => z.int().min(0).max(max);

/**
 * SageMaker's `DeploymentConfig` (UpdateEndpoint, CreateEndpoint) as `-C deployment_config=<JSON>`
 * takes it: blue/green with all-at-once, canary or linear traffic shifting, or a rolling update,
 * and auto-rollback on CloudWatch alarms. Strict: a misspelt key is refused here rather than
 * ignored, because an update without its guardrail is worse than no update.
 */
export const deploymentConfigSchema = z
  .strictObject({
    BlueGreenUpdatePolicy: z
      .strictObject({
        TrafficRoutingConfiguration: z.strictObject({
          Type: z.enum(['ALL_AT_ONCE', 'CANARY', 'LINEAR']),
          WaitIntervalInSeconds: seconds(3600),
          CanarySize: capacity.optional(),
          LinearStepSize: capacity.optional(),
        }),
        TerminationWaitInSeconds: seconds(3600).optional(),
        MaximumExecutionTimeoutInSeconds: z.int().min(600).max(28_800).optional(),
      })
      .refine((p) => p.TrafficRoutingConfiguration.Type !== 'CANARY' || p.TrafficRoutingConfiguration.CanarySize !== undefined, {
        error: 'a CANARY traffic routing needs CanarySize',
      })
      .refine((p) => p.TrafficRoutingConfiguration.Type !== 'LINEAR' || p.TrafficRoutingConfiguration.LinearStepSize !== undefined, {
        error: 'a LINEAR traffic routing needs LinearStepSize',
      })
      .optional(),
    RollingUpdatePolicy: z
      .strictObject({
        MaximumBatchSize: capacity,
        WaitIntervalInSeconds: seconds(3600),
        MaximumExecutionTimeoutInSeconds: z.int().min(600).max(28_800).optional(),
        RollbackMaximumBatchSize: capacity.optional(),
      })
      .optional(),
    AutoRollbackConfiguration: z
      .strictObject({
        Alarms: z
          .array(z.strictObject({ AlarmName: z.string().min(1).max(255) }))
          .min(1)
          .max(10),
      })
      .optional(),
  })
  .refine((c) => c.BlueGreenUpdatePolicy === undefined || c.RollingUpdatePolicy === undefined, {
    error: 'BlueGreenUpdatePolicy and RollingUpdatePolicy exclude each other',
  });

/** A validated `deployment_config`. */
export type SageMakerDeploymentConfig = z.infer<typeof deploymentConfigSchema>;

/** What SageMaker may take besides the policy's own waits: provisioning the new fleet. */
const PROVISIONING_SECONDS = 600;

/** A capacity (`{Type, Value}`), as given or as SageMaker describes it. */
interface Capacity {
  readonly Type?: string | undefined;
  readonly Value?: number | undefined;
}

/** The parts of a DeploymentConfig (given, or SageMaker's LastDeploymentConfig) that make an update wait. */
export interface PolicyWaits {
  readonly BlueGreenUpdatePolicy?:
    | {
        readonly TrafficRoutingConfiguration?:
          | {
              readonly Type?: string | undefined;
              readonly WaitIntervalInSeconds?: number | undefined;
              readonly LinearStepSize?: Capacity | undefined;
            }
          | undefined;
        readonly TerminationWaitInSeconds?: number | undefined;
      }
    | undefined;
  readonly RollingUpdatePolicy?:
    { readonly MaximumBatchSize?: Capacity | undefined; readonly WaitIntervalInSeconds?: number | undefined } | undefined;
}

/**
 * How long an update with `policy` may take, at least: the waits of its traffic shifting (each
 * step's `WaitIntervalInSeconds`), the old fleet's `TerminationWaitInSeconds`, and 10 minutes of
 * provisioning. `undefined` without a policy that waits. `instanceCount` sizes the steps of a
 * rolling update or a linear shift counted in instances.
 */
export function policyWaitSeconds(policy: PolicyWaits | undefined, instanceCount: number): number | undefined {
  const steps = (size: Capacity | undefined): number => {
    const value = size?.Value ?? 0;
    if (value <= 0) return 1;
    return Math.max(1, Math.ceil(size?.Type === 'CAPACITY_PERCENT' ? 100 / value : instanceCount / value));
  };
  const blueGreen = policy?.BlueGreenUpdatePolicy;
  if (blueGreen !== undefined) {
    const routing = blueGreen.TrafficRoutingConfiguration;
    // ALL_AT_ONCE bakes once; CANARY waits after the canary; LINEAR after each step.
    const waits = routing?.Type === 'LINEAR' ? steps(routing.LinearStepSize) : 1;
    return (routing?.WaitIntervalInSeconds ?? 0) * waits + (blueGreen.TerminationWaitInSeconds ?? 0) + PROVISIONING_SECONDS;
  }
  const rolling = policy?.RollingUpdatePolicy;
  if (rolling !== undefined) return (rolling.WaitIntervalInSeconds ?? 0) * steps(rolling.MaximumBatchSize) + PROVISIONING_SECONDS;
  return undefined;
}
