/**
 * The gates table of a rollout: each gate its policy sets, its threshold, the live value the
 * engine's last check measured, and whether that value passes (docs/rollouts.md).
 */
import { GATE_NAMES, type GateName, type Rollout, type RolloutMetrics } from '../src/protocol.js';
import { formatNumber, formatMs, formatRate, NO_VALUE } from './format.js';

/** The engine's default for `minRequests` when the policy leaves it out. */
export const DEFAULT_MIN_REQUESTS = 20;

/** What a gate's live value says. */
type GateVerdict = 'passing' | 'failing' | 'no data';

/** One row of the gates table. */
export interface GateRow {
  readonly gate: GateName;
  /** What the gate checks, in words. */
  readonly label: string;
  readonly threshold: number;
  /** The threshold as text, `(default)` marked when the policy did not set it. */
  readonly thresholdText: string;
  readonly value: number | null;
  readonly valueText: string;
  readonly verdict: GateVerdict;
}

interface GateRule {
  readonly label: string;
  /** `max`: the value must be at most the threshold; `min`: at least. */
  readonly bound: 'max' | 'min';
  readonly measure: (metrics: RolloutMetrics) => number | null;
  readonly format: (value: number) => string;
}

const metric = (metrics: RolloutMetrics, key: string): number | null => {
  const value = Object.hasOwn(metrics, key) ? metrics[key] : undefined;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
};

const difference = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
const ratio = (a: number | null, b: number | null) => (a === null || b === null || b <= 0 ? null : a / b);
const times = (value: number) => `${formatNumber(value, 2)}×`;
const count = (value: number) => formatNumber(value, 0);

const RULES: Readonly<Record<GateName, GateRule>> = {
  maxErrorRate: {
    label: 'Candidate error rate',
    bound: 'max',
    measure: (m) => metric(m, 'candidate_error_rate'),
    format: (v) => formatRate(v),
  },
  maxErrorRateIncrease: {
    label: 'Error rate increase over current',
    bound: 'max',
    measure: (m) => difference(metric(m, 'candidate_error_rate'), metric(m, 'current_error_rate')),
    format: (v) => formatRate(v),
  },
  maxP99LatencyMs: { label: 'Candidate p99 latency', bound: 'max', measure: (m) => metric(m, 'candidate_p99_ms'), format: formatMs },
  maxP99LatencyRatio: {
    label: 'p99 latency, candidate / current',
    bound: 'max',
    measure: (m) => ratio(metric(m, 'candidate_p99_ms'), metric(m, 'current_p99_ms')),
    format: times,
  },
  minShadowAgreement: {
    label: 'Shadow agreement',
    bound: 'min',
    measure: (m) => metric(m, 'shadow_agreement'),
    format: (v) => formatRate(v),
  },
  minRequests: { label: 'Candidate requests', bound: 'min', measure: (m) => metric(m, 'candidate_requests'), format: count },
};

/**
 * The gates of `rollout`'s policy in a fixed order, judged on `last_metrics`. `minRequests` is
 * always there, as the engine always applies it.
 */
export function gateRows(rollout: Pick<Rollout, 'policy' | 'last_metrics'>): GateRow[] {
  const gates = rollout.policy.gates ?? {};
  const metrics = rollout.last_metrics ?? {};
  const rows: GateRow[] = [];
  for (const gate of GATE_NAMES) {
    const set = gates[gate];
    const threshold = typeof set === 'number' ? set : gate === 'minRequests' ? DEFAULT_MIN_REQUESTS : undefined;
    if (threshold === undefined) continue;
    const rule = RULES[gate];
    const value = rule.measure(metrics);
    const verdict: GateVerdict =
      value === null ? 'no data' : (rule.bound === 'max' ? value <= threshold : value >= threshold) ? 'passing' : 'failing';
    rows.push({
      gate,
      label: rule.label,
      threshold,
      thresholdText: `${rule.bound === 'max' ? '≤' : '≥'} ${rule.format(threshold)}${set === undefined ? ' (default)' : ''}`,
      value,
      valueText: value === null ? NO_VALUE : rule.format(value),
      verdict,
    });
  }
  return rows;
}
