import { AggregatorRegistry, Gauge, Registry } from 'prom-client';
import type { MetricsJson } from './gateway-metrics.js';

/** What the gauges report, read when `/metrics` is scraped, and where the request counts are. */
export interface MetricsSource {
  deployments(): readonly { readonly name: string; readonly revision: number; readonly liveReplicas: number; readonly restarts: number }[];
  shadows(): Promise<
    readonly {
      readonly endpoint: string;
      readonly shadow: string;
      readonly mirrored: number;
      readonly agreementRate: number | null;
    }[]
  >;
  /** The private ports of the live workers, whose own counts (of their deployment's port) are added in. */
  workerPorts(): readonly number[];
  /** The gateway process's request counts; undefined when it does not answer. */
  gatewayRequests(): Promise<MetricsJson | undefined>;
}

/**
 * The control plane's `/metrics`: its gauges, in a registry of its own (not prom-client's global
 * one), plus the request counts of the gateway process and of every worker, summed by labels.
 * The names are those dashboards already use; do not rename them.
 */
export class Metrics {
  private readonly registry = new Registry();

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
      async collect() {
        this.reset();
        for (const s of await source.shadows()) this.set({ endpoint: s.endpoint, shadow: s.shadow }, s.mirrored);
      },
    });
    new Gauge({
      name: 'mldeploy_shadow_agreement_ratio',
      help: 'Share of shadow answers equal to the primary’s.',
      labelNames: ['endpoint', 'shadow'],
      registers,
      async collect() {
        this.reset();
        for (const s of await source.shadows())
          if (s.agreementRate !== null) this.set({ endpoint: s.endpoint, shadow: s.shadow }, s.agreementRate);
      },
    });
  }

  /** The Content-Type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The exposition text: the gauges plus the gateway's and every live worker's counts (asked
   * for at once, 1 s each; a process that does not answer is left out of this scrape), summed by
   * labels.
   */
  async render(): Promise<string> {
    const [own, sources] = await Promise.all([this.registry.getMetricsAsJSON(), requestSources(this.source)]);
    return AggregatorRegistry.aggregate([own, ...sources.values()]).metrics();
  }
}

/**
 * The request counts of the gateway (`gateway`) and of every live worker (`worker:<port>`) that
 * answered within 1 s, apart: each process counts from its own start.
 */
export async function requestSources(source: Pick<MetricsSource, 'gatewayRequests' | 'workerPorts'>): Promise<Map<string, MetricsJson>> {
  const ports = source.workerPorts();
  const [gateway, ...workers] = await Promise.all([source.gatewayRequests(), ...ports.map(workerMetrics)]);
  const sources = new Map<string, MetricsJson>();
  if (gateway !== undefined) sources.set('gateway', gateway);
  workers.forEach((metrics, i) => {
    if (metrics !== undefined) sources.set(`worker:${ports[i]!}`, metrics);
  });
  return sources;
}

async function workerMetrics(port: number): Promise<MetricsJson | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(1_000) });
    return response.ok ? ((await response.json()) as MetricsJson) : undefined;
  } catch {
    return undefined;
  }
}
