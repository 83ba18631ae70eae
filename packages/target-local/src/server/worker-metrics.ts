import { Registry } from 'prom-client';
import type { ScoringMetrics } from '@mldeploy/serving';
import { RequestMetrics, type RequestLabels } from './request-metrics.js';

/**
 * A worker's count of the predictions it answered on its deployment's own port (those through
 * the gateway, the gateway counts), read by the control plane's `/metrics` as prom-client JSON.
 */
export class WorkerMetrics implements ScoringMetrics {
  private readonly registry = new Registry();
  private readonly metrics = new RequestMetrics(this.registry);
  private readonly labels: RequestLabels;

  constructor(deployment: string, revision: number) {
    this.labels = { deployment, revision: String(revision), route: 'port' };
  }

  observe(shared: boolean, status: number, seconds: number): void {
    if (shared) this.metrics.observe(this.labels, status, seconds);
  }

  async render(): Promise<string> {
    return JSON.stringify(await this.registry.getMetricsAsJSON());
  }
}
