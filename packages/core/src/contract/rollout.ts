import { z } from 'zod';

/** One canary or linear step: the candidate's share of the endpoint's traffic, held for `bakeSeconds` while the gates are checked. */
export const rolloutStepSchema = z.strictObject({
  weight: z.int().min(1).max(100),
  bakeSeconds: z.number().min(0).max(86_400),
});

/**
 * What the candidate must show, compared with the deployment it replaces, on live metrics over
 * each bake: a gate not met rolls the rollout back (to 100 % on the current deployment).
 */
export const rolloutGatesSchema = z.strictObject({
  /** The candidate's share of failed requests (5xx and timeouts), 0–1. */
  maxErrorRate: z.number().min(0).max(1).optional(),
  /** How much worse than the current deployment's error rate the candidate may be, in points (0–1); default: no comparison. */
  maxErrorRateIncrease: z.number().min(0).max(1).optional(),
  /** The candidate's p99 latency, in milliseconds. */
  maxP99LatencyMs: z.number().positive().optional(),
  /** The candidate's p99 latency over the current deployment's (1.5: at most 50 % slower). */
  maxP99LatencyRatio: z.number().min(1).optional(),
  /** Shadow runs: the share of mirrored requests the candidate answered the same as the current deployment, 0–1. */
  minShadowAgreement: z.number().min(0).max(1).optional(),
  /** Requests the candidate must have answered in a bake before it can pass; fewer holds the step (default 20). */
  minRequests: z.int().min(1).optional(),
});

/**
 * How a change reaches traffic:
 * - `all-at-once`: the whole traffic at once (gates still watched over `bakeSeconds` of the last step, if given);
 * - `canary` / `linear`: the candidate's share follows `steps` (linear: equal steps), ending at 100;
 * - `blue-green`: the candidate takes all traffic at once, the current deployment stays ready for
 *   the bake, and traffic goes back to it if a gate fails;
 * - `shadow-then-canary`: the candidate first gets a copy of `shadow.percent` % of requests (its
 *   answers compared, callers never see them), then the canary steps.
 */
export const rolloutPolicySchema = z
  .strictObject({
    strategy: z.enum(['all-at-once', 'canary', 'linear', 'blue-green', 'shadow-then-canary']),
    steps: z.array(rolloutStepSchema).min(1).max(100).optional(),
    shadow: z.strictObject({ percent: z.int().min(1).max(100), bakeSeconds: z.number().min(0).max(86_400) }).optional(),
    gates: rolloutGatesSchema.optional(),
  })
  .superRefine((policy, ctx) => {
    const needsSteps = policy.strategy === 'canary' || policy.strategy === 'linear' || policy.strategy === 'shadow-then-canary';
    if (needsSteps && policy.steps === undefined) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: `a ${policy.strategy} rollout needs steps: [{weight, bakeSeconds}, …]` });
    }
    if (policy.strategy === 'shadow-then-canary' && policy.shadow === undefined) {
      ctx.addIssue({ code: 'custom', path: ['shadow'], message: 'a shadow-then-canary rollout needs shadow: {percent, bakeSeconds}' });
    }
    const weights = policy.steps?.map((s) => s.weight) ?? [];
    if (weights.some((w, i) => i > 0 && w <= weights[i - 1]!)) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'step weights must increase' });
    }
  });

/** A rollout policy (see {@link rolloutPolicySchema}). */
export type RolloutPolicy = z.infer<typeof rolloutPolicySchema>;

/** What {@link BaseDeploymentClient.startRollout} takes: move endpoint `endpoint`'s traffic to deployment `to` by `policy`. */
export interface RolloutRequest {
  readonly endpoint: string;
  /** The candidate deployment (it must exist and be ready). */
  readonly to: string;
  readonly policy: RolloutPolicy;
}

/**
 * What a caller can do to a rollout under way: `pause` (traffic stays, no gate is checked),
 * `resume`, `abort` (traffic back to where it started) or `promote` (the remaining steps skipped:
 * all traffic to the candidate now).
 */
export type RolloutAction = 'pause' | 'resume' | 'abort' | 'promote';

/** Every {@link RolloutAction}, for parsers and help texts. */
export const ROLLOUT_ACTIONS: readonly RolloutAction[] = ['pause', 'resume', 'abort', 'promote'];

/** Where a rollout is. */
export type RolloutState = 'running' | 'paused' | 'succeeded' | 'rolled_back' | 'aborted' | 'failed';

/** A decision of the rollout engine, with the figures it was made on. */
export interface RolloutDecision {
  readonly at: string;
  readonly step: number;
  readonly action: 'promote' | 'hold' | 'rollback' | 'complete';
  readonly reason: string;
  readonly metrics?: Readonly<Record<string, unknown>> | undefined;
}

/** A rollout as targets report it. */
export interface Rollout {
  readonly id: string;
  readonly endpoint: string;
  /** The deployment that had the traffic when the rollout started. */
  readonly from: string;
  readonly to: string;
  readonly policy: RolloutPolicy;
  readonly state: RolloutState;
  /** The phase in progress, 0-based, as `rolloutPhases` lists them (a shadow-then-canary rollout's phase 0 is its shadow). */
  readonly step: number;
  /** The candidate's share of traffic now. */
  readonly weight: number;
  readonly decisions: readonly RolloutDecision[];
  readonly started_at: string;
  readonly updated_at: string;
  readonly [key: string]: unknown;
}
