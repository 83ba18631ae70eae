import type { RevisionRuntime } from './revision-runtime.js';
import { ShadowStats } from './shadow-stats.js';
import type { EndpointConfig } from './state-store.js';

/** How an endpoint routes: its config, and the comparison of its shadow when it has one. */
export interface EndpointRoute {
  readonly config: EndpointConfig;
  readonly shadow: ShadowStats | undefined;
}

/**
 * What the gateway and `/metrics` read: which revision serves each deployment and how each
 * endpoint routes. Read-only; only the control plane changes it, through
 * {@link RoutingTable.apply}.
 */
export interface Routes {
  /**
   * The revision serving a deployment: `undefined` when no such deployment is recorded, `null`
   * when it is recorded but nothing serves it (its revision failed to start after a restart, or
   * has not started yet).
   */
  deployment(name: string): RevisionRuntime | null | undefined;
  endpoint(name: string): EndpointRoute | undefined;
  endpoints(): ReadonlyMap<string, EndpointRoute>;
  /** The private ports of every live worker. */
  workerPorts(): number[];
}

/** One change to the routing table. */
export type RouteChange =
  | { readonly deployment: string; readonly runtime: RevisionRuntime | null }
  | { readonly deployment: string; readonly removed: true }
  | { readonly endpoint: string; readonly config: EndpointConfig }
  | { readonly endpoint: string; readonly removed: true };

/**
 * The routing table, kept in step with the state store so that a prediction never queries
 * SQLite. A change is a single map assignment, so a request sees the old revision or the new one,
 * never neither.
 */
export class RoutingTable implements Routes {
  private readonly deployments = new Map<string, RevisionRuntime | null>();
  private readonly endpointRoutes = new Map<string, EndpointRoute>();

  deployment(name: string): RevisionRuntime | null | undefined {
    return this.deployments.get(name);
  }

  endpoint(name: string): EndpointRoute | undefined {
    return this.endpointRoutes.get(name);
  }

  endpoints(): ReadonlyMap<string, EndpointRoute> {
    return this.endpointRoutes;
  }

  workerPorts(): number[] {
    return this.runtimes().flatMap((r) => r.live.map((w) => w.port));
  }

  /** Every runtime serving now, for shutdown. */
  runtimes(): RevisionRuntime[] {
    return [...this.deployments.values()].filter((r): r is RevisionRuntime => r !== null);
  }

  /**
   * Applies one change. For a deployment, returns the runtime it replaced (for the caller to
   * stop once traffic has moved). An endpoint keeps its shadow comparison while the shadow
   * deployment stays the same, and starts a new one when it changes.
   */
  apply(change: RouteChange): RevisionRuntime | null | undefined {
    if ('deployment' in change) {
      const previous = this.deployments.get(change.deployment);
      if ('removed' in change) this.deployments.delete(change.deployment);
      else this.deployments.set(change.deployment, change.runtime);
      return previous;
    }
    if ('removed' in change) {
      this.endpointRoutes.delete(change.endpoint);
      return undefined;
    }
    const shadow = change.config.shadow;
    const previous = this.endpointRoutes.get(change.endpoint)?.shadow;
    const stats = shadow === null ? undefined : previous?.deployment === shadow.deployment ? previous : new ShadowStats(shadow.deployment);
    this.endpointRoutes.set(change.endpoint, { config: change.config, shadow: stats });
    return undefined;
  }
}
