import { MlDeployError } from '../errors/index.js';

/** An endpoint's traffic split: deployment name → percentage; the percentages sum to 100. */
export type TrafficSplit = Readonly<Record<string, number>>;

/**
 * Throws `INVALID_PARAMETER_VALUE` unless `traffic` names at least one deployment and its
 * weights sum to exactly 100 (each weight's own range is the caller's schema's business).
 */
export function checkTrafficSplit(traffic: TrafficSplit, target: string): void {
  const total = Object.values(traffic).reduce((a, b) => a + b, 0);
  if (Object.keys(traffic).length === 0 || total !== 100) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `The traffic split's weights sum to ${total}; they must sum to 100`, {
      target,
      hint: `Pass -C traffic='{"a": 90, "b": 10}' (percentages summing to 100).`,
    });
  }
}

/**
 * The deployment a ticket in [0, 100) falls on, walking the split in its key order: with a
 * uniformly random ticket, each deployment is picked with probability weight/100; with a hashed
 * ticket, one caller always lands on the same deployment.
 */
export function pickByWeight(traffic: TrafficSplit, ticket: number): string {
  let rest = ticket;
  for (const [deployment, weight] of Object.entries(traffic)) {
    if (rest < weight) return deployment;
    rest -= weight;
  }
  // Weights sum to 100 when the split is written (checkTrafficSplit), so a ticket below 100
  // always lands; fall back to the first deployment rather than fail a request.
  const first = Object.keys(traffic)[0];
  if (first === undefined) throw new MlDeployError('INVALID_STATE', 'The traffic split names no deployment');
  return first;
}
