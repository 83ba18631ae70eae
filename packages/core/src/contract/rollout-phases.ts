import type { RolloutPolicy } from './rollout.js';

/**
 * One phase of a rollout: the candidate mirrored (`shadow`: callers never see its answers) or
 * given `weight` % of the endpoint's traffic, held for `bakeSeconds` while the gates are checked.
 */
export interface RolloutPhase {
  readonly kind: 'shadow' | 'traffic';
  readonly weight: number;
  readonly bakeSeconds: number;
}

/** A bake long enough for a gate to see some traffic when the policy gives none. */
const DEFAULT_BAKE_SECONDS = 60;

/**
 * The phases a policy goes through, in order; the last one always gives the candidate 100 %.
 * Blue/green is one phase at 100 % whose bake keeps the current deployment ready to take the
 * traffic back; all-at-once is the same without a bake unless steps give one.
 */
export function rolloutPhases(policy: RolloutPolicy): RolloutPhase[] {
  const steps = policy.steps ?? [];
  const lastBake = steps.at(-1)?.bakeSeconds;
  switch (policy.strategy) {
    case 'all-at-once':
      return [{ kind: 'traffic', weight: 100, bakeSeconds: lastBake ?? 0 }];
    case 'blue-green':
      return [{ kind: 'traffic', weight: 100, bakeSeconds: lastBake ?? DEFAULT_BAKE_SECONDS }];
    case 'canary':
    case 'linear':
    case 'shadow-then-canary': {
      const phases: RolloutPhase[] = steps.map((s) => ({ kind: 'traffic', weight: s.weight, bakeSeconds: s.bakeSeconds }));
      if (policy.strategy === 'shadow-then-canary' && policy.shadow !== undefined) {
        phases.unshift({ kind: 'shadow', weight: policy.shadow.percent, bakeSeconds: policy.shadow.bakeSeconds });
      }
      // The candidate ends with all traffic: a last step below 100 is followed by the switch.
      if (phases.at(-1)?.weight !== 100 || phases.at(-1)?.kind === 'shadow') phases.push({ kind: 'traffic', weight: 100, bakeSeconds: 0 });
      return phases;
    }
  }
}
