import type { DeploymentSettings } from './local-config.js';
import type { ShadowSummary } from './shadow-stats.js';
import type { EndpointConfig, RevisionRecord } from './state-store.js';

// What ControlPlane takes and returns: names in camelCase, as in the rest of the code; the REST
// API's snake_case wire form is made from these in api-routes.ts.

/** A deployment as the control plane reports it (the HTTP layer gives it its wire form). */
export interface DeploymentView {
  readonly name: string;
  readonly flavor: string;
  readonly modelUri: string;
  /** The registry version a `models:/` URI resolved to. */
  readonly modelVersion: string | null;
  readonly revision: number;
  /** `failed`: its revision could not be brought back after a restart (see `error`). */
  readonly state: 'ready' | 'degraded' | 'unavailable' | 'failed';
  readonly error: string | undefined;
  readonly replicas: number;
  readonly liveReplicas: number;
  readonly restarts: number;
  readonly workers: readonly { readonly pid: number; readonly port: number }[];
  readonly config: DeploymentSettings;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A revision in a deployment's history. */
export interface RevisionView extends RevisionRecord {
  /** Whether it is the one serving. */
  readonly current: boolean;
}

/** An endpoint as the control plane reports it. */
export interface EndpointView {
  readonly name: string;
  readonly config: EndpointConfig;
  /** How the shadow compares with the primary, when the endpoint has a shadow. */
  readonly shadowComparison: ShadowSummary | undefined;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * A model as a request names it. The control plane never downloads: the client resolves a
 * remote URI in the caller's environment and sends the local directory it landed in.
 */
export interface ModelSource {
  /** The URI the user gave, kept for history; a local one is served as it is. */
  readonly modelUri: string;
  /** The local model directory the client resolved `modelUri` to. */
  readonly modelPath?: string | undefined;
  /** The registry version the client resolved a `models:/` URI to. */
  readonly modelVersion?: string | undefined;
}

/** What a create asks for. */
export interface NewDeployment extends ModelSource {
  readonly name: string;
  readonly flavor?: string | undefined;
  readonly config?: Readonly<Record<string, unknown>> | undefined;
}

/** What an update changes; what it leaves out stays (config is merged over the current). */
export interface DeploymentChange extends Partial<ModelSource> {
  readonly flavor?: string | undefined;
  readonly config?: Readonly<Record<string, unknown>> | undefined;
}
