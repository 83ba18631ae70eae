import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Routes } from './routing-table.js';

/** The labels of one gateway request. */
export interface RequestLabels {
  readonly deployment: string;
  readonly revision: string;
  /** `direct`, `endpoint:<name>:<rule>` or `shadow:<endpoint>`. */
  readonly route: string;
}

/** What the gauges report, read when `/metrics` is scraped; `routes` says which request series still describe something. */
export interface MetricsSource {
  readonly routes: Routes;
  deployments(): readonly { readonly name: string; readonly revision: number; readonly liveReplicas: number; readonly restarts: number }[];
  shadows(): readonly {
    readonly endpoint: string;
    readonly shadow: string;
    readonly mirrored: number;
    readonly agreementRate: number | null;
  }[];
}

/** The request series of one deployment, revision and route, with the error statuses seen. */
interface Series {
  readonly labels: RequestLabels;
  readonly statuses: Set<string>;
}

/**
 * The gateway's Prometheus metrics, in a registry of its own (not prom-client's global one, so
 * that two control planes in one process, as in tests, do not share counters). The names are
 * those dashboards already use; do not rename them.
 *
 * Request series carry the revision, so every update would add series for good: instead, the
 * series of a revision that no longer serves (updated, rolled back, deleted) and of an endpoint
 * route that no longer exists are removed, before every scrape and whenever a request starts a
 * new series. So `/metrics` shows only what serves, and the series held never outgrow those of
 * what serves plus what retired since the last request that started a series.
 */
export class Metrics {
  private readonly registry = new Registry();
  private readonly requests: Counter<keyof RequestLabels>;
  private readonly errors: Counter<keyof RequestLabels | 'status'>;
  private readonly latency: Histogram<keyof RequestLabels>;
  /** Every request series by deployment, revision and route: what {@link prune} checks. */
  private readonly series = new Map<string, Series>();

  constructor(private readonly source: MetricsSource) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'mldeploy_requests_total',
      help: 'Prediction requests through the gateway.',
      labelNames: ['deployment', 'revision', 'route'],
      registers,
    });
    this.errors = new Counter({
      name: 'mldeploy_request_errors_total',
      help: 'Prediction requests answered with an error status.',
      labelNames: ['deployment', 'revision', 'route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'mldeploy_request_duration_seconds',
      help: 'Gateway request latency.',
      labelNames: ['deployment', 'revision', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    // Gauges are read from the control plane when scraped, so they never go stale.
    new Gauge({
      name: 'mldeploy_deployment_live_replicas',
      help: 'Replicas of the serving revision that are up.',
      labelNames: ['deployment', 'revision'],
      registers,
      collect() {
        this.reset();
        for (const d of source.deployments()) this.set({ deployment: d.name, revision: String(d.revision) }, d.liveReplicas);
      },
    });
    new Gauge({
      name: 'mldeploy_deployment_restarts',
      help: 'Worker restarts after crashes, for the serving revision.',
      labelNames: ['deployment'],
      registers,
      collect() {
        this.reset();
        for (const d of source.deployments()) this.set({ deployment: d.name }, d.restarts);
      },
    });
    new Gauge({
      name: 'mldeploy_shadow_mirrored_total',
      help: 'Requests mirrored to a shadow deployment.',
      labelNames: ['endpoint', 'shadow'],
      registers,
      collect() {
        this.reset();
        for (const s of source.shadows()) this.set({ endpoint: s.endpoint, shadow: s.shadow }, s.mirrored);
      },
    });
    new Gauge({
      name: 'mldeploy_shadow_agreement_ratio',
      help: 'Share of shadow answers equal to the primary’s.',
      labelNames: ['endpoint', 'shadow'],
      registers,
      collect() {
        this.reset();
        for (const s of source.shadows())
          if (s.agreementRate !== null) this.set({ endpoint: s.endpoint, shadow: s.shadow }, s.agreementRate);
      },
    });
  }

  /** Records one gateway request. */
  observe(labels: RequestLabels, status: number, ms: number): void {
    const key = `${labels.deployment}\n${labels.revision}\n${labels.route}`;
    let series = this.series.get(key);
    if (series === undefined) {
      this.prune();
      series = { labels: { deployment: labels.deployment, revision: labels.revision, route: labels.route }, statuses: new Set() };
      this.series.set(key, series);
    }
    this.requests.inc(labels);
    if (status >= 400) {
      const code = String(status);
      series.statuses.add(code);
      this.errors.inc({ ...labels, status: code });
    }
    this.latency.observe(labels, ms / 1000);
  }

  /** Removes the request series that describe nothing serving any more. */
  private prune(): void {
    for (const [key, { labels, statuses }] of this.series) {
      if (serves(this.source.routes, labels)) continue;
      this.series.delete(key);
      this.requests.remove(labels);
      this.latency.remove(labels);
      for (const status of statuses) this.errors.remove({ ...labels, status });
    }
  }

  /** The Content-Type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text. */
  render(): Promise<string> {
    this.prune();
    return this.registry.metrics();
  }
}

/**
 * Whether requests so labelled can still happen: the revision serves its deployment, and an
 * endpoint route (`endpoint:<name>:<rule>`, `shadow:<name>`) names an endpoint that still sends
 * that deployment traffic or shadow copies.
 */
function serves(routes: Routes, { deployment, revision, route }: RequestLabels): boolean {
  const runtime = routes.deployment(deployment);
  if (runtime === undefined || runtime === null || String(runtime.revision.revision) !== revision) return false;
  if (route === 'direct') return true;
  if (route.startsWith('shadow:')) return routes.endpoint(route.slice('shadow:'.length))?.config.shadow?.deployment === deployment;
  const endpoint = /^endpoint:(.+):[a-z]+$/.exec(route)?.[1];
  return endpoint !== undefined && routes.endpoint(endpoint)?.config.traffic[deployment] !== undefined;
}
