import type { RouteSnapshot } from './gateway-protocol.js';
import { parseDeploymentSettings } from './local-config.js';
import type { RevisionRuntime } from './revision-runtime.js';
import type { EndpointConfig } from './state-store.js';

/** One change to the routing table. */
export type RouteChange =
  | { readonly deployment: string; readonly runtime: RevisionRuntime | null }
  | { readonly deployment: string; readonly removed: true }
  | { readonly endpoint: string; readonly config: EndpointConfig }
  | { readonly endpoint: string; readonly removed: true };

/**
 * The routing table, kept in step with the state store: which revision serves each deployment
 * (`null`: recorded, but nothing serves it) and how each endpoint routes. The gateway process
 * routes by a copy of it ({@link RoutingTable.snapshot}), which the control plane pushes after
 * every change.
 */
export class RoutingTable {
  private readonly deployments = new Map<string, RevisionRuntime | null>();
  private readonly endpointConfigs = new Map<string, EndpointConfig>();

  deployment(name: string): RevisionRuntime | null | undefined {
    return this.deployments.get(name);
  }

  /** The private ports of every live worker. */
  workerPorts(): number[] {
    return this.runtimes().flatMap((r) => r.live.map((w) => w.port));
  }

  /** Every runtime serving now, for shutdown. */
  runtimes(): RevisionRuntime[] {
    return [...this.deployments.values()].filter((r): r is RevisionRuntime => r !== null);
  }

  /**
   * Applies one change. For a deployment, returns the runtime it replaced (for the caller to
   * stop once traffic has moved).
   */
  apply(change: RouteChange): RevisionRuntime | null | undefined {
    if ('deployment' in change) {
      const previous = this.deployments.get(change.deployment);
      if ('removed' in change) this.deployments.delete(change.deployment);
      else this.deployments.set(change.deployment, change.runtime);
      return previous;
    }
    if ('removed' in change) this.endpointConfigs.delete(change.endpoint);
    else this.endpointConfigs.set(change.endpoint, change.config);
    return undefined;
  }

  /** The whole table as the gateway process takes it; `ready`: every recorded deployment was brought back. */
  snapshot(ready: boolean): RouteSnapshot {
    return {
      ready,
      deployments: [...this.deployments].map(([name, runtime]) => ({
        name,
        serving:
          runtime === null
            ? null
            : {
                revision: runtime.revision.revision,
                maxBodyBytes: runtime.maxBodyBytes,
                timeoutMs: parseDeploymentSettings(runtime.revision.config).timeout * 1000,
                ports: runtime.live.map((w) => w.port),
              },
      })),
      endpoints: [...this.endpointConfigs].map(([name, config]) => ({ name, config })),
    };
  }
}
