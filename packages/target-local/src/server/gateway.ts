import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { MlDeployError } from '@mldeploy/core';
import type { ControlPlane } from './control-plane.js';
import type { Metrics } from './metrics.js';
import { noReplica, type RevisionRuntime } from './revision-runtime.js';
import { chooseRoute } from './traffic-router.js';
import type { WorkerProcess } from './worker-process.js';

/** A response from a worker, buffered so that it can be compared (shadow) or retried. */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** What served a gateway request, for headers and metrics. */
export interface Served {
  readonly deployment: string;
  readonly revision: number;
  readonly rule: string;
  readonly response: UpstreamResponse;
}

const FORWARDED_HEADERS = ['content-type', 'authorization', 'accept'];

/**
 * The single port for prediction traffic: forwards requests to a deployment's live replicas
 * (round robin), chooses deployments for endpoints, mirrors shadow traffic, and retries once on
 * another replica when a worker dies with the request in flight (predictions are idempotent).
 */
export class Gateway {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });

  constructor(
    private readonly plane: ControlPlane,
    private readonly metrics: Metrics,
  ) {}

  /** Forwards to a deployment. `path` is the worker path (`/invocations`, `/v2/models/<name>/infer`, …). */
  async toDeployment(name: string, path: string, method: string, headers: IncomingHttpHeaders, body: Buffer, rule = 'direct'): Promise<Served> {
    const runtime = this.plane.routes.get(name);
    if (runtime === undefined) {
      if (this.plane.store.deployment(name) === undefined) {
        throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `Deployment "${name}" does not exist on the local target`, { target: 'local', hint: "See what exists with 'mldeploy list -t local'." });
      }
      throw noReplica(name);
    }
    const started = process.hrtime.bigint();
    const response = await this.forward(runtime, path, method, headers, body);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    this.metrics.observe({ deployment: name, revision: String(runtime.revision.revision), route: rule }, response.status, ms);
    return { deployment: name, revision: runtime.revision.revision, rule, response };
  }

  /** Routes a request to an endpoint: pin, sticky or weighted, then mirrors it to the shadow. */
  async toEndpoint(name: string, path: string, method: string, headers: IncomingHttpHeaders, body: Buffer): Promise<Served> {
    const config = this.plane.endpointRoutes.get(name);
    if (config === undefined) {
      throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `Endpoint "${name}" does not exist on the local target`, { target: 'local', hint: "See what exists with 'mldeploy list-endpoints -t local'." });
    }
    const decision = chooseRoute(name, config, headers);
    const started = process.hrtime.bigint();
    const served = await this.toDeployment(decision.deployment, path, method, headers, body, `endpoint:${name}:${decision.rule}`);
    const primaryMs = Number(process.hrtime.bigint() - started) / 1e6;
    const shadow = config.shadow;
    if (shadow !== null && served.response.status === 200 && Math.random() * 100 < shadow.percent) {
      void this.mirror(name, shadow.deployment, path, method, headers, body, served.response, primaryMs);
    }
    return served;
  }

  /** Sends a copy to the shadow and compares; its answer and failures never reach the caller. */
  private async mirror(endpoint: string, deployment: string, path: string, method: string, headers: IncomingHttpHeaders, body: Buffer, primary: UpstreamResponse, primaryMs: number): Promise<void> {
    const stats = this.plane.shadows.get(endpoint);
    if (stats === undefined) return;
    const started = process.hrtime.bigint();
    try {
      const served = await this.toDeployment(deployment, path, method, headers, body, `shadow:${endpoint}`);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (served.response.status !== 200) {
        stats.recordError();
        return;
      }
      stats.record(JSON.parse(primary.body.toString()), JSON.parse(served.response.body.toString()), primaryMs, ms);
    } catch {
      stats.recordError();
    }
  }

  private async forward(runtime: RevisionRuntime, path: string, method: string, headers: IncomingHttpHeaders, body: Buffer): Promise<UpstreamResponse> {
    let failed: WorkerProcess | undefined;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const worker = runtime.pick(failed);
      if (worker === undefined) throw noReplica(runtime.revision.deployment);
      worker.inFlight += 1;
      try {
        return await this.send(worker.port, path, method, headers, body);
      } catch (error) {
        // Only a broken connection is retried: an HTTP error is the model's answer.
        failed = worker;
        if (attempt === 1) {
          throw new MlDeployError('TEMPORARILY_UNAVAILABLE', `A replica of "${runtime.revision.deployment}" failed while answering: ${(error as Error).message}`, { target: 'local', cause: error });
        }
      } finally {
        worker.inFlight -= 1;
      }
    }
    throw noReplica(runtime.revision.deployment);
  }

  private send(port: number, path: string, method: string, headers: IncomingHttpHeaders, body: Buffer): Promise<UpstreamResponse> {
    const forwarded: Record<string, string> = { 'content-length': String(body.length) };
    for (const name of FORWARDED_HEADERS) {
      const value = headers[name];
      if (typeof value === 'string') forwarded[name] = value;
    }
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method, headers: forwarded, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
