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
 * A step as a reader counts it. `step` is the index of the rollout's phase (the engine's
 * `rolloutPhases`): a shadow-then-canary rollout's phase 0 is its shadow; then `2 of 3` for the
 * policy's steps, and `final (100 %)` past them (the switch that follows a last step below
 * 100 %). A policy without steps has one.
 */
export function stepText(step: number, rollout: Pick<Rollout, 'policy'>): string {
  const { policy } = rollout;
  const index = policy.strategy === 'shadow-then-canary' && policy.shadow !== undefined ? step - 1 : step;
  if (index < 0) return 'shadow';
  const steps = policy.strategy === 'all-at-once' || policy.strategy === 'blue-green' ? 1 : (policy.steps?.length ?? 1);
  return index >= steps ? 'final (100 %)' : `${index + 1} of ${steps}`;
}
