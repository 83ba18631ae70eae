import { Counter, Histogram, type Registry } from 'prom-client';

/** The labels of one prediction request. */
export interface RequestLabels {
  readonly deployment: string;
  readonly revision: string;
  /** `port` (the deployment's own port), `direct` (its gateway path), `endpoint:<name>:<rule>` or `shadow:<endpoint>`. */
  readonly route: string;
}

/**
 * The request counters and latency histogram, defined once: the gateway and every worker count
 * into their own registries, and `/metrics` sums them by labels, which needs the same names,
 * help, label names and buckets everywhere. The names are those dashboards already use; do not
 * rename them.
 */
export class RequestMetrics {
  private readonly requests: Counter<keyof RequestLabels>;
  private readonly errors: Counter<keyof RequestLabels | 'status'>;
  private readonly latency: Histogram<keyof RequestLabels>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'mldeploy_requests_total',
      help: 'Prediction requests, through the gateway or on a deployment’s own port.',
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
      help: 'Prediction request latency.',
      labelNames: ['deployment', 'revision', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }

  /** Removes one series (and its error series, one per status in `statuses`). */
  remove(labels: RequestLabels, statuses: Iterable<string>): void {
    this.requests.remove(labels);
    this.latency.remove(labels);
    for (const status of statuses) this.errors.remove({ ...labels, status });
  }

  /** Records one request. */
  observe(labels: RequestLabels, status: number, seconds: number): void {
    this.requests.inc(labels);
    if (status >= 400) this.errors.inc({ ...labels, status: String(status) });
    this.latency.observe(labels, seconds);
  }
}
