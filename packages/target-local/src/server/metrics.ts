import { AggregatorRegistry, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { RequestMetrics, type RequestLabels } from './request-metrics.js';
import type { Routes } from './routing-table.js';

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
  /** The private ports of the live workers, whose own counts (of their deployment's port) are added in. */
  workerPorts(): readonly number[];
}

/** The request series of one deployment, revision and route, with the error statuses seen. */
interface Series {
  readonly labels: RequestLabels;
  readonly statuses: Set<string>;
}

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

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
  private readonly requests = new RequestMetrics(this.registry);
  /** Every request series by deployment, revision and route: what {@link prune} checks. */
  private readonly series = new Map<string, Series>();

  constructor(private readonly source: MetricsSource) {
    const registers = [this.registry];
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
    if (status >= 400) series.statuses.add(String(status));
    this.requests.observe(labels, status, ms / 1000);
  }

  /** Removes the request series that describe nothing serving any more. */
  private prune(): void {
    for (const [key, { labels, statuses }] of this.series) {
      if (serves(this.source.routes, labels)) continue;
      this.series.delete(key);
      this.requests.remove(labels, statuses);
    }
  }

  /** The Content-Type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The exposition text: the gateway's counts and gauges plus every live worker's counts (asked
   * for at once, 1 s each; a worker that does not answer is left out of this scrape), summed by
   * labels.
   */
  async render(): Promise<string> {
    this.prune();
    const workers = await Promise.all(this.source.workerPorts().map(workerMetrics));
    const own = await this.registry.getMetricsAsJSON();
    return AggregatorRegistry.aggregate([own, ...workers.filter((w): w is MetricsJson => w !== undefined)]).metrics();
  }
}

async function workerMetrics(port: number): Promise<MetricsJson | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(1_000) });
    return response.ok ? ((await response.json()) as MetricsJson) : undefined;
  } catch {
    return undefined;
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
