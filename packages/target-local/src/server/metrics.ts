const BUCKETS_MS = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

function labelText(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

interface Histogram {
  readonly labels: Readonly<Record<string, string>>;
  readonly counts: number[];
  sum: number;
  count: number;
}

/**
 * The gateway's Prometheus metrics: request and error counters and a latency histogram per
 * deployment, revision and route, plus gauges computed when scraped. Kept in memory; the text
 * exposition format is rendered on demand.
 */
export class Metrics {
  private readonly requests = new Map<string, { labels: Record<string, string>; value: number }>();
  private readonly errors = new Map<string, { labels: Record<string, string>; value: number }>();
  private readonly latency = new Map<string, Histogram>();

  /** Records one gateway request. */
  observe(labels: Readonly<Record<string, string>>, status: number, ms: number): void {
    const key = labelText(labels);
    const counter = this.requests.get(key) ?? { labels: { ...labels }, value: 0 };
    counter.value += 1;
    this.requests.set(key, counter);
    if (status >= 400) {
      const errorLabels = { ...labels, status: String(status) };
      const errorKey = labelText(errorLabels);
      const errors = this.errors.get(errorKey) ?? { labels: errorLabels, value: 0 };
      errors.value += 1;
      this.errors.set(errorKey, errors);
    }
    const histogram = this.latency.get(key) ?? { labels: { ...labels }, counts: BUCKETS_MS.map(() => 0), sum: 0, count: 0 };
    for (const [i, bound] of BUCKETS_MS.entries()) if (ms <= bound) histogram.counts[i]! += 1;
    histogram.sum += ms / 1000;
    histogram.count += 1;
    this.latency.set(key, histogram);
  }

  /** The exposition text, with `gauges` (name → help, samples) appended. */
  render(gauges: readonly { name: string; help: string; samples: readonly { labels: Record<string, string>; value: number }[] }[]): string {
    const lines: string[] = [];
    lines.push('# HELP mldeploy_requests_total Prediction requests through the gateway.', '# TYPE mldeploy_requests_total counter');
    for (const c of this.requests.values()) lines.push(`mldeploy_requests_total${labelText(c.labels)} ${c.value}`);
    lines.push('# HELP mldeploy_request_errors_total Prediction requests answered with an error status.', '# TYPE mldeploy_request_errors_total counter');
    for (const c of this.errors.values()) lines.push(`mldeploy_request_errors_total${labelText(c.labels)} ${c.value}`);
    lines.push('# HELP mldeploy_request_duration_seconds Gateway request latency.', '# TYPE mldeploy_request_duration_seconds histogram');
    for (const h of this.latency.values()) {
      for (const [i, bound] of BUCKETS_MS.entries()) lines.push(`mldeploy_request_duration_seconds_bucket${labelText({ ...h.labels, le: String(bound / 1000) })} ${h.counts[i]}`);
      lines.push(`mldeploy_request_duration_seconds_bucket${labelText({ ...h.labels, le: '+Inf' })} ${h.count}`);
      lines.push(`mldeploy_request_duration_seconds_sum${labelText(h.labels)} ${h.sum}`, `mldeploy_request_duration_seconds_count${labelText(h.labels)} ${h.count}`);
    }
    for (const gauge of gauges) {
      lines.push(`# HELP ${gauge.name} ${gauge.help}`, `# TYPE ${gauge.name} gauge`);
      for (const s of gauge.samples) lines.push(`${gauge.name}${labelText(s.labels)} ${s.value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
