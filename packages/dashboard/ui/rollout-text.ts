/** Rules and words about rollouts that the views share. */
import type { Rollout, RolloutAction, RolloutState } from '../src/protocol.js';

const ALLOWED: Readonly<Record<RolloutAction, readonly RolloutState[]>> = {
  pause: ['running'],
  resume: ['paused'],
  abort: ['running', 'paused'],
  promote: ['running', 'paused'],
};

/** Whether the control plane takes `action` on a rollout in `state` (others get 400 INVALID_STATE). */
export function actionAllowed(state: RolloutState, action: RolloutAction): boolean {
  return ALLOWED[action].includes(state);
}

/**
 * A step as a reader counts it: `shadow` for -1, `2 of 3` for the policy's steps, and `final (100 %)`
 * past them (the switch that follows a last step below 100 %). A policy without steps has one.
 */
export function stepText(step: number, rollout: Pick<Rollout, 'policy'>): string {
  if (step < 0) return 'shadow';
  const steps = rollout.policy.steps?.length ?? 1;
  return step >= steps ? 'final (100 %)' : `${step + 1} of ${steps}`;
}
