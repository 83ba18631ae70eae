import type { MetricsJson } from '../gateway-metrics.js';
import type { RequestWindow } from './rollout-decision.js';

/** A deployment's cumulative request counters on some routes, at one moment. */
export interface RequestCounters {
  readonly requests: number;
  readonly errors: number;
  /** The latency histogram's cumulative bucket counts, by upper bound in seconds (`+Inf` included). */
  readonly buckets: Readonly<Record<string, number>>;
}

/** No requests at all: the start of a lifetime window. */
export const EMPTY_COUNTERS: RequestCounters = { requests: 0, errors: 0, buckets: {} };

/**
 * Sums the gateway's request counters (prom-client JSON) of `deployment` over the routes
 * `route` accepts (e.g. an endpoint's `endpoint:<name>:…`, or its `shadow:<name>`).
 */
export function requestCounters(metrics: MetricsJson, deployment: string, route: (route: string) => boolean): RequestCounters {
  let requests = 0;
  let errors = 0;
  const buckets: Record<string, number> = {};
  for (const metric of metrics) {
    for (const sample of metric.values) {
      const labels = sample.labels as Record<string, string | number | undefined>;
      if (labels['deployment'] !== deployment || !route(String(labels['route'] ?? ''))) continue;
      if (metric.name === 'mldeploy_requests_total') requests += sample.value;
      else if (metric.name === 'mldeploy_request_errors_total') errors += sample.value;
      // Histogram samples carry their series name (…_bucket, …_sum, …_count) beside the labels.
      else if (
        metric.name === 'mldeploy_request_duration_seconds' &&
        (sample as { metricName?: string }).metricName === 'mldeploy_request_duration_seconds_bucket'
      ) {
        const le = String(labels['le']);
        buckets[le] = (buckets[le] ?? 0) + sample.value;
      }
    }
  }
  return requests === 0 && errors === 0 ? EMPTY_COUNTERS : { requests, errors, buckets };
}

/**
 * The requests between two readings of the same counters. Counters that went down were reset
 * (a revision's series removed after an update, a new gateway process): `undefined`, and the
 * caller starts its window again.
 */
export function requestWindow(before: RequestCounters, now: RequestCounters): RequestWindow | undefined {
  const requests = now.requests - before.requests;
  const errors = now.errors - before.errors;
  if (requests < 0 || errors < 0) return undefined;
  const p99Ms = latencyQuantileMs(before.buckets, now.buckets, requests, 0.99);
  return p99Ms === undefined ? undefined : { requests, errors, p99Ms };
}

/**
 * The `q` quantile (0–1) of the latencies observed between two readings of a cumulative latency
 * histogram, in milliseconds, as Prometheus's `histogram_quantile`: linear within the bucket it
 * falls in; above the largest finite bound it is only known to exceed it (Infinity: no finite
 * gate passes). Null without requests; undefined when a bucket went down (the series was reset).
 */
export function latencyQuantileMs(
  before: Readonly<Record<string, number>>,
  now: Readonly<Record<string, number>>,
  requests: number,
  q: number,
): number | null | undefined {
  const bounds = Object.keys(now)
    .map((le) => ({ le, seconds: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le) }))
    .sort((a, b) => a.seconds - b.seconds);
  let quantile: number | null = null;
  const wanted = q * requests;
  let below = 0;
  let lower = 0;
  for (const { le, seconds } of bounds) {
    const count = (now[le] ?? 0) - (before[le] ?? 0);
    if (count < 0) return undefined;
    if (requests > 0 && quantile === null && count >= wanted) {
      quantile = Number.isFinite(seconds)
        ? (lower + ((seconds - lower) * (wanted - below)) / Math.max(count - below, 1e-9)) * 1000
        : Number.POSITIVE_INFINITY;
    }
    below = count;
    lower = seconds;
  }
  return quantile;
}
