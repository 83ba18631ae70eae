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
