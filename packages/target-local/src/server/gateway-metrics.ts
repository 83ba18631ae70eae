import { Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Routes } from './gateway-routes.js';
import { RequestMetrics, type RequestLabels } from './request-metrics.js';

/** prom-client's JSON form of a registry, which `/metrics` sums by labels (`AggregatorRegistry.aggregate`). */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** The request series of one deployment, revision and route, with the error statuses seen. */
interface Series {
  readonly labels: RequestLabels;
  readonly statuses: Set<string>;
}

/**
 * The gateway's request counts, in a registry of its own (not prom-client's global one). The
 * control plane asks for them as JSON ({@link GatewayMetrics.json}) and adds them to `/metrics`.
 *
 * Request series carry the revision, so every update would add series for good: instead, the
 * series of a revision that no longer serves (updated, rolled back, deleted) and of an endpoint
 * route that no longer exists are removed, before every scrape and whenever a request starts a
 * new series. So `/metrics` shows only what serves, and the series held never outgrow those of
 * what serves plus what retired since the last request that started a series.
 */
export class GatewayMetrics {
  private readonly registry = new Registry();
  private readonly requests = new RequestMetrics(this.registry);
  /** Every request series by deployment, revision and route: what {@link prune} checks. */
  private readonly series = new Map<string, Series>();

  constructor(private readonly routes: Routes) {}

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

  /** The request series of what still serves, as prom-client JSON. */
  async json(): Promise<MetricsJson> {
    this.prune();
    return this.registry.getMetricsAsJSON();
  }

  /** Removes the request series that describe nothing serving any more. */
  private prune(): void {
    for (const [key, { labels, statuses }] of this.series) {
      if (serves(this.routes, labels)) continue;
      this.series.delete(key);
      this.requests.remove(labels, statuses);
    }
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
