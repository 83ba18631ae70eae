import type { RolloutPhase, RolloutPolicy } from '@mldeploy/core';

/** A deployment's requests over a window: how many, how many failed, the 99th percentile latency. */
export interface RequestWindow {
  readonly requests: number;
  /** Answers with an error status (≥ 400) or none. */
  readonly errors: number;
  /** The p99 latency in milliseconds (the upper bound of the histogram bucket it falls in), or null without requests. */
  readonly p99Ms: number | null;
}

/** The shadow comparison over a shadow phase. */
interface ShadowWindow {
  readonly mirrored: number;
  readonly errors: number;
  readonly agreementRate: number | null;
}

/** What one check of a phase sees. */
export interface PhaseObservation {
  readonly phase: RolloutPhase;
  /** Seconds since the phase began (or resumed). */
  readonly elapsedSeconds: number;
  /** The candidate over the phase (in a shadow phase: its mirrored requests). */
  readonly candidate: RequestWindow;
  /** The deployment the traffic comes from, over the same window; what the candidate is compared with. */
  readonly current: RequestWindow;
  readonly shadow?: ShadowWindow | undefined;
}

/** The engine's verdict on a phase. */
export interface PhaseDecision {
  readonly action: 'promote' | 'hold' | 'rollback';
  readonly reason: string;
  readonly metrics: Readonly<Record<string, number | null>>;
}

const DEFAULT_MIN_REQUESTS = 20;

const percent = (value: number): string => `${(value * 100).toFixed(2)} %`;
const ms = (value: number): string =>
  Number.isFinite(value) ? `${Number(value.toFixed(1))} ms` : 'over 10 s (above every latency bucket)';

/**
 * Decides a phase from live metrics, comparing the candidate with the current deployment:
 * - a gate not met, once the candidate has answered `minRequests` (default 20), rolls back at
 *   once, naming the gate and the figures (a bad candidate is not left to serve out its bake);
 * - all gates met for the whole bake, with `minRequests` answered, promotes;
 * - otherwise it holds (too early, or too few requests to judge).
 * Pure: the engine records each decision with the figures it was made on.
 */
export function decidePhase(policy: RolloutPolicy, observation: PhaseObservation): PhaseDecision {
  const gates = policy.gates ?? {};
  const minRequests = gates.minRequests ?? DEFAULT_MIN_REQUESTS;
  const { candidate, current, shadow, phase } = observation;
  const errorRate = candidate.requests === 0 ? null : candidate.errors / candidate.requests;
  const currentErrorRate = current.requests === 0 ? null : current.errors / current.requests;
  const metrics: Record<string, number | null> = {
    candidate_requests: candidate.requests,
    candidate_error_rate: errorRate,
    candidate_p99_ms: candidate.p99Ms === null || Number.isFinite(candidate.p99Ms) ? candidate.p99Ms : null,
    current_requests: current.requests,
    current_error_rate: currentErrorRate,
    current_p99_ms: current.p99Ms,
    ...(shadow === undefined ? {} : { shadow_mirrored: shadow.mirrored, shadow_agreement: shadow.agreementRate }),
  };
  const judged = phase.kind === 'shadow' ? (shadow?.mirrored ?? 0) : candidate.requests;
  if (judged >= minRequests) {
    const failed: string[] = [];
    if (gates.maxErrorRate !== undefined && errorRate !== null && errorRate > gates.maxErrorRate) {
      failed.push(`error rate ${percent(errorRate)} > maxErrorRate ${percent(gates.maxErrorRate)}`);
    }
    if (gates.maxErrorRateIncrease !== undefined && errorRate !== null && currentErrorRate !== null) {
      if (errorRate - currentErrorRate > gates.maxErrorRateIncrease) {
        failed.push(
          `error rate ${percent(errorRate)} vs ${percent(currentErrorRate)} on the current deployment: more than maxErrorRateIncrease ${percent(gates.maxErrorRateIncrease)} higher`,
        );
      }
    }
    if (gates.maxP99LatencyMs !== undefined && candidate.p99Ms !== null && candidate.p99Ms > gates.maxP99LatencyMs) {
      failed.push(`p99 latency ${ms(candidate.p99Ms)} > maxP99LatencyMs ${gates.maxP99LatencyMs} ms`);
    }
    if (gates.maxP99LatencyRatio !== undefined && candidate.p99Ms !== null && current.p99Ms !== null && current.p99Ms > 0) {
      const ratio = candidate.p99Ms / current.p99Ms;
      if (ratio > gates.maxP99LatencyRatio) {
        failed.push(
          `p99 latency ${ms(candidate.p99Ms)} vs ${ms(current.p99Ms)} on the current deployment: ${ratio.toFixed(2)}× > maxP99LatencyRatio ${gates.maxP99LatencyRatio}×`,
        );
      }
    }
    if (phase.kind === 'shadow' && gates.minShadowAgreement !== undefined && shadow?.agreementRate != null) {
      if (shadow.agreementRate < gates.minShadowAgreement) {
        failed.push(`shadow agreement ${percent(shadow.agreementRate)} < minShadowAgreement ${percent(gates.minShadowAgreement)}`);
      }
    }
    if (failed.length > 0) return { action: 'rollback', reason: `gate failed: ${failed.join('; ')}`, metrics };
  }
  if (observation.elapsedSeconds < phase.bakeSeconds) {
    return { action: 'hold', reason: `baking: ${Math.floor(observation.elapsedSeconds)} of ${phase.bakeSeconds} s`, metrics };
  }
  const gated = Object.keys(gates).some((key) => key !== 'minRequests');
  if (gated && phase.bakeSeconds > 0 && judged < minRequests) {
    return { action: 'hold', reason: `waiting for traffic: ${judged} of ${minRequests} requests to judge the gates on`, metrics };
  }
  const where = phase.kind === 'shadow' ? `shadow at ${phase.weight} %` : `${phase.weight} % of traffic`;
  return { action: 'promote', reason: `gates met at ${where} for ${phase.bakeSeconds} s (${judged} requests)`, metrics };
}
