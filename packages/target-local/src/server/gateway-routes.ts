import type { RouteSnapshot } from './gateway-protocol.js';
import { ShadowStats, type ShadowSummary } from './shadow-stats.js';
import type { EndpointConfig } from './state-store.js';

/** A live worker as the gateway sees it: its private port, and the requests it has in flight there. */
export interface Replica {
  readonly port: number;
  inFlight: number;
}

/** The revision serving a deployment, as the gateway routes to it. */
export interface ServedRevision {
  readonly revision: { readonly deployment: string; readonly revision: number };
  /** The largest request body it accepts (its `max_body_size`). */
  readonly maxBodyBytes: number;
  /** Its `timeout` setting, in milliseconds. */
  readonly timeoutMs: number;
  /** A replica for the next request, round robin, avoiding `exclude` (one that just failed) when there is another. */
  pick(exclude?: Replica): Replica | undefined;
}

/** How an endpoint routes: its config, and the comparison of its shadow when it has one. */
export interface EndpointRoute {
  readonly config: EndpointConfig;
  readonly shadow: ShadowStats | undefined;
}

/** What the gateway and its metrics read: which revision serves each deployment, and how each endpoint routes. */
export interface Routes {
  /**
   * The revision serving a deployment: `undefined` when no such deployment is recorded, `null`
   * when it is recorded but nothing serves it (its revision failed to start after a restart, or
   * has not started yet).
   */
  deployment(name: string): ServedRevision | null | undefined;
  endpoint(name: string): EndpointRoute | undefined;
  /** Whether the control plane has brought back every recorded deployment. */
  readonly ready: boolean;
}

class Revision implements ServedRevision {
  private next = 0;

  constructor(
    readonly revision: { readonly deployment: string; readonly revision: number },
    readonly maxBodyBytes: number,
    readonly timeoutMs: number,
    readonly replicas: readonly Replica[],
  ) {}

  pick(exclude?: Replica): Replica | undefined {
    const live = this.replicas;
    if (live.length === 0) return undefined;
    for (let i = 0; i < live.length; i += 1) {
      const candidate = live[(this.next + i) % live.length]!;
      if (candidate !== exclude) {
        this.next = (this.next + i + 1) % live.length;
        return candidate;
      }
    }
    return live[0];
  }
}

/**
 * The gateway process's routing table: replaced whole by each snapshot the control plane pushes
 * ({@link GatewayRoutes.apply}), in one synchronous step, so that a request sees the old routes
 * or the new ones, never a mix. A worker keeps its in-flight count across snapshots (one object
 * per port), which is what {@link GatewayRoutes.drained} waits on before the control plane stops
 * workers that no longer serve.
 */
export class GatewayRoutes implements Routes {
  private deployments = new Map<string, Revision | null>();
  private endpoints = new Map<string, EndpointRoute>();
  private readonly replicas = new Map<number, Replica>();
  ready = false;

  deployment(name: string): ServedRevision | null | undefined {
    return this.deployments.get(name);
  }

  endpoint(name: string): EndpointRoute | undefined {
    return this.endpoints.get(name);
  }

  /**
   * Takes the control plane's routes. A revision whose number and replicas are unchanged keeps
   * its round robin; an endpoint keeps its shadow comparison while its shadow deployment stays
   * the same, and starts a new one when it changes.
   */
  apply(snapshot: RouteSnapshot): void {
    const deployments = new Map<string, Revision | null>();
    const ports = new Set<number>();
    for (const { name, serving } of snapshot.deployments) {
      if (serving === null) {
        deployments.set(name, null);
        continue;
      }
      for (const port of serving.ports) ports.add(port);
      const previous = this.deployments.get(name);
      const same =
        previous != null &&
        previous.revision.revision === serving.revision &&
        previous.maxBodyBytes === serving.maxBodyBytes &&
        previous.timeoutMs === serving.timeoutMs &&
        samePorts(previous, serving.ports);
      deployments.set(
        name,
        same
          ? previous
          : new Revision(
              { deployment: name, revision: serving.revision },
              serving.maxBodyBytes,
              serving.timeoutMs,
              serving.ports.map((port) => this.replica(port)),
            ),
      );
    }
    const endpoints = new Map<string, EndpointRoute>();
    for (const { name, config } of snapshot.endpoints) {
      const previous = this.endpoints.get(name)?.shadow;
      const shadow =
        config.shadow === null
          ? undefined
          : previous?.deployment === config.shadow.deployment
            ? previous
            : new ShadowStats(config.shadow.deployment);
      endpoints.set(name, { config, shadow });
    }
    this.deployments = deployments;
    this.endpoints = endpoints;
    this.ready = snapshot.ready;
    // Workers that no longer serve are forgotten once idle; a request still on one keeps its object.
    for (const [port, replica] of this.replicas) if (!ports.has(port) && replica.inFlight === 0) this.replicas.delete(port);
  }

  /** Whether no request is in flight to any of these workers' ports. */
  drained(ports: readonly number[]): boolean {
    return ports.every((port) => (this.replicas.get(port)?.inFlight ?? 0) === 0);
  }

  /** Each endpoint's shadow comparison, by endpoint name. */
  shadows(): Record<string, ShadowSummary> {
    const summaries: Record<string, ShadowSummary> = {};
    for (const [name, route] of this.endpoints) if (route.shadow !== undefined) summaries[name] = route.shadow.summary();
    return summaries;
  }

  private replica(port: number): Replica {
    let replica = this.replicas.get(port);
    if (replica === undefined) {
      replica = { port, inFlight: 0 };
      this.replicas.set(port, replica);
    }
    return replica;
  }
}

function samePorts(revision: Revision, ports: readonly number[]): boolean {
  return revision.replicas.length === ports.length && revision.replicas.every((replica, i) => replica.port === ports[i]);
}
