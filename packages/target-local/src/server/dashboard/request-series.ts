import type { MetricsJson } from '../gateway-metrics.js';
import { latencyQuantileMs, requestCounters, type RequestCounters } from '../rollouts/request-window.js';

/** One deployment's traffic over one sampling interval. */
export interface SeriesPoint {
  /** The end of the interval, in Unix seconds. */
  readonly t: number;
  /** Requests per second over the interval. */
  readonly rps: number;
  /** The share of those requests that failed (0–1); null without requests. */
  readonly error_rate: number | null;
  /** Latency percentiles in milliseconds; null without requests (Infinity is sent as null: above every bucket). */
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
}

/** Callers' traffic: the gateway's routes but the shadow copies, which no caller waits for. */
const callerRoute = (route: string): boolean => !route.startsWith('shadow:');

/**
 * The last minutes of each deployment's traffic through the gateway (request rate, error rate,
 * p50 and p99 latency), sampled from the gateway's cumulative counters every `intervalMs` while
 * {@link start}ed: what the dashboard's charts show. Differences of counters, so a counter that
 * went down (a new gateway process, a revision's series removed after an update) starts the
 * deployment's next interval afresh instead of showing a negative rate.
 */
export class RequestSeries {
  private readonly points = new Map<string, SeriesPoint[]>();
  private last: { readonly at: number; readonly counters: Map<string, RequestCounters> } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  /** No I/O: {@link start} begins sampling. */
  constructor(
    private readonly read: () => Promise<MetricsJson | undefined>,
    readonly intervalMs = 2000,
    private readonly keepMs = 10 * 60_000,
  ) {}

  /** Samples every interval from now on (again: nothing). */
  start(): void {
    if (this.timer !== undefined) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Every deployment's points, oldest first. */
  series(): Record<string, SeriesPoint[]> {
    return Object.fromEntries([...this.points].map(([name, points]) => [name, [...points]]));
  }

  /** Reads the counters once and adds a point per deployment seen; a failed read adds none. */
  async sample(now = Date.now()): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const metrics = await this.read().catch(() => undefined);
      if (metrics === undefined) return;
      this.add(metrics, now);
    } finally {
      this.sampling = false;
    }
  }

  /** Adds the points of one reading taken at `now` (ms). */
  add(metrics: MetricsJson, now: number): void {
    const counters = new Map<string, RequestCounters>();
    for (const name of deploymentsIn(metrics)) counters.set(name, requestCounters(metrics, name, callerRoute));
    const previous = this.last;
    this.last = { at: now, counters };
    if (previous !== undefined && now > previous.at) {
      const seconds = (now - previous.at) / 1000;
      for (const [name, current] of counters) {
        const point = pointBetween(previous.counters.get(name), current, seconds, now);
        if (point !== undefined) this.append(name, point);
      }
    }
    this.forgetBefore(now - this.keepMs);
  }

  private append(name: string, point: SeriesPoint): void {
    const points = this.points.get(name) ?? [];
    points.push(point);
    this.points.set(name, points);
  }

  /** Drops points older than `cutoff` (ms), and deployments left with none. */
  private forgetBefore(cutoff: number): void {
    for (const [name, points] of this.points) {
      const keep = points.filter((p) => p.t * 1000 >= cutoff);
      if (keep.length === 0) this.points.delete(name);
      else if (keep.length !== points.length) this.points.set(name, keep);
    }
  }
}

/** The deployments the gateway has request series of. */
function deploymentsIn(metrics: MetricsJson): Set<string> {
  const names = new Set<string>();
  for (const metric of metrics) {
    if (metric.name !== 'mldeploy_requests_total') continue;
    for (const sample of metric.values) {
      const deployment = (sample.labels as Record<string, unknown>)['deployment'];
      if (typeof deployment === 'string') names.add(deployment);
    }
  }
  return names;
}

/** The point for the traffic between two readings; undefined when the counters were reset in between. */
function pointBetween(before: RequestCounters | undefined, now: RequestCounters, seconds: number, at: number): SeriesPoint | undefined {
  const base = before ?? { requests: 0, errors: 0, buckets: {} };
  const requests = now.requests - base.requests;
  const errors = now.errors - base.errors;
  if (requests < 0 || errors < 0) return undefined;
  const p50 = latencyQuantileMs(base.buckets, now.buckets, requests, 0.5);
  const p99 = latencyQuantileMs(base.buckets, now.buckets, requests, 0.99);
  if (p50 === undefined || p99 === undefined) return undefined;
  const finite = (ms: number | null): number | null => (ms === null || !Number.isFinite(ms) ? null : Math.round(ms * 100) / 100);
  return {
    t: Math.round(at / 1000),
    rps: Math.round((requests / seconds) * 100) / 100,
    error_rate: requests === 0 ? null : errors / requests,
    p50_ms: finite(p50),
    p99_ms: finite(p99),
  };
}
