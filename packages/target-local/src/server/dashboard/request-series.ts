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

/** Where request counts come from, by source: the gateway, and each worker (its deployment's own port). */
export type RequestSources = () => Promise<ReadonlyMap<string, MetricsJson>>;

/** One source's cumulative counters, by deployment. */
type Reading = Map<string, RequestCounters>;

/**
 * The last minutes of each deployment's traffic (request rate, error rate, p50 and p99 latency),
 * through the gateway and on the deployment's own port, sampled every `intervalMs` while
 * {@link start}ed: what the dashboard's charts show. Counters are cumulative and per process, so
 * each source is differenced against its own last reading: a worker that did not answer one
 * sample is counted at the next, one that restarted (its counters went down) counts from zero,
 * and a source's first reading is only where it starts from.
 */
export class RequestSeries {
  private readonly points = new Map<string, SeriesPoint[]>();
  /** Each source's last reading, and when it was taken. */
  private readonly readings = new Map<string, { readonly at: number; readonly reading: Reading }>();
  /** The gateway's endpoint requests by endpoint, deployment and rule, at its last reading. */
  private routeCounts: { readonly at: number; readonly counts: Map<string, number> } | undefined;
  private routed: Record<string, RoutedRate[]> = {};
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  /** No I/O: {@link start} begins sampling. */
  constructor(
    private readonly read: RequestSources,
    readonly intervalMs = 2000,
    private readonly keepMs = 10 * 60_000,
    /** Asked before each sample: once false, sampling stops until the next {@link start}. */
    private readonly wanted: () => boolean = () => true,
  ) {}

  /** Samples every interval from now on, while {@link wanted} (again: nothing). */
  start(): void {
    if (this.timer !== undefined) return;
    void this.sample();
    this.timer = setInterval(() => {
      if (this.wanted()) void this.sample();
      else this.stop();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops sampling; the next {@link start} begins afresh (a gap is not one long interval). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.readings.clear();
    this.routeCounts = undefined;
    this.routed = {};
  }

  /** How each endpoint's requests were routed over the last interval (see {@link RoutedRate}). */
  routing(): Record<string, RoutedRate[]> {
    return this.routed;
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
      const sources = await this.read().catch(() => undefined);
      if (sources !== undefined) this.add(sources, now);
    } finally {
      this.sampling = false;
    }
  }

  /**
   * Adds the points of one reading of every source, taken at `now` (ms). Each source's counts are
   * a rate over its own time since its last reading: one that missed a sample spreads what it
   * counted meanwhile over both intervals instead of spiking.
   */
  add(sources: ReadonlyMap<string, MetricsJson>, now: number): void {
    const windows = new Map<string, { counts: RequestCounters; rps: number }>();
    for (const [source, metrics] of sources) {
      const reading: Reading = new Map();
      for (const name of deploymentsIn(metrics)) reading.set(name, requestCounters(metrics, name, callerRoute));
      const previous = this.readings.get(source);
      this.readings.set(source, { at: now, reading });
      // A source's first reading is where it starts from: its counts so far may span its whole
      // life (a worker that did not answer until now), not this interval.
      if (previous === undefined || now <= previous.at) continue;
      const seconds = (now - previous.at) / 1000;
      for (const [name, counters] of reading) {
        const delta = difference(previous.reading.get(name), counters);
        const window = windows.get(name);
        windows.set(name, { counts: sum(window?.counts, delta), rps: (window?.rps ?? 0) + delta.requests / seconds });
      }
    }
    for (const [name, { counts, rps }] of windows) this.append(name, pointOf(counts, rps, now));
    const gateway = sources.get('gateway');
    if (gateway === undefined) {
      this.routed = {};
    } else {
      const counts = routeCountsOf(gateway);
      const previous = this.routeCounts;
      if (previous !== undefined && now > previous.at) this.routed = routedRates(previous.counts, counts, (now - previous.at) / 1000);
      this.routeCounts = { at: now, counts };
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

/** An endpoint's requests to one deployment by one rule (`pinned`, `sticky`, `weighted`), per second. */
export interface RoutedRate {
  readonly deployment: string;
  readonly rule: string;
  readonly rps: number;
}

/** The gateway's endpoint requests, by `endpoint\ndeployment\nrule` (revisions summed). */
function routeCountsOf(metrics: MetricsJson): Map<string, number> {
  const counts = new Map<string, number>();
  for (const metric of metrics) {
    if (metric.name !== 'mldeploy_requests_total') continue;
    for (const sample of metric.values) {
      const labels = sample.labels as Record<string, string | number | undefined>;
      const route = /^endpoint:(.+):([a-z]+)$/.exec(String(labels['route'] ?? ''));
      if (route === null) continue;
      const key = `${route[1]!}\n${String(labels['deployment'] ?? '')}\n${route[2]!}`;
      counts.set(key, (counts.get(key) ?? 0) + sample.value);
    }
  }
  return counts;
}

/** Each endpoint's routed requests per second between two readings (a count that went down: a new gateway, counted from zero). */
function routedRates(before: Map<string, number>, now: Map<string, number>, seconds: number): Record<string, RoutedRate[]> {
  const routed: Record<string, RoutedRate[]> = {};
  for (const [key, count] of now) {
    const [endpoint, deployment, rule] = key.split('\n') as [string, string, string];
    const previous = before.get(key) ?? 0;
    const delta = count >= previous ? count - previous : count;
    (routed[endpoint] ??= []).push({ deployment, rule, rps: Math.round((delta / seconds) * 100) / 100 });
  }
  return routed;
}

/** The deployments a registry has request series of. */
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

/** The counts between two readings of one process (a deployment new to it: all its counts); all of `now` when the process restarted since. */
function difference(before: RequestCounters | undefined, now: RequestCounters): RequestCounters {
  if (before === undefined || now.requests < before.requests || now.errors < before.errors) return now;
  const buckets: Record<string, number> = {};
  for (const [le, count] of Object.entries(now.buckets)) buckets[le] = Math.max(0, count - (before.buckets[le] ?? 0));
  return { requests: now.requests - before.requests, errors: now.errors - before.errors, buckets };
}

function sum(a: RequestCounters | undefined, b: RequestCounters): RequestCounters {
  if (a === undefined) return b;
  const buckets: Record<string, number> = { ...a.buckets };
  for (const [le, count] of Object.entries(b.buckets)) buckets[le] = (buckets[le] ?? 0) + count;
  return { requests: a.requests + b.requests, errors: a.errors + b.errors, buckets };
}

/** The point for one interval's counts (buckets cumulative within the interval) at `rps` requests per second. */
function pointOf(window: RequestCounters, rps: number, at: number): SeriesPoint {
  const { requests, errors } = window;
  const finite = (ms: number | null | undefined): number | null =>
    ms === null || ms === undefined || !Number.isFinite(ms) ? null : Math.round(ms * 100) / 100;
  return {
    t: Math.round(at / 1000),
    rps: Math.round(rps * 100) / 100,
    error_rate: requests === 0 ? null : errors / requests,
    p50_ms: finite(latencyQuantileMs({}, window.buckets, requests, 0.5)),
    p99_ms: finite(latencyQuantileMs({}, window.buckets, requests, 0.99)),
  };
}
