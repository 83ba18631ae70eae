import type { BaseDeploymentClient, DeploymentConfig } from '../contract/base-deployment-client.js';

/**
 * The version of the plugin contract this mldeploy implements. A plugin declares the version it
 * was written against; mldeploy refuses versions it does not know instead of failing later in a
 * confusing way. A breaking change to {@link TargetPlugin} or {@link BaseDeploymentClient}
 * bumps it.
 */
export const TARGET_API_VERSION = 1;

/** The contract versions this mldeploy can load. */
export const SUPPORTED_TARGET_API_VERSIONS: readonly number[] = [1];

/** How far a model download has got, for a progress line on a terminal. */
export interface DownloadProgress {
  /** The model URI being downloaded. */
  readonly uri: string;
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
}

/**
 * What mldeploy hands a plugin: the resolved environment, so that plugins never read
 * `process.env` themselves and tests can run them against any environment. The client's
 * constructor receives it with the target URI; {@link TargetPlugin.runLocal} receives it with a
 * `signal` as well. See docs/plugins.md.
 *
 * @example
 * ```ts
 * class AcmeClient extends BaseDeploymentClient {
 *   constructor(targetUri: string, context: TargetContext) {
 *     super(targetUri); // no I/O here
 *     this.token = context.env['ACME_TOKEN'];
 *   }
 * }
 * ```
 */
export interface TargetContext {
  /** Environment variables, frozen. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The working directory that relative paths are resolved against. */
  readonly cwd: string;
  /** The user's home directory. */
  readonly homeDir: string;
  /** Where a plugin may write human-readable progress (a terminal's stderr, or nothing). */
  readonly log: (line: string) => void;
  /** Where a plugin that downloads a model may report how far it got (the CLI draws a progress line); absent: nobody shows it. */
  readonly onDownloadProgress?: ((progress: DownloadProgress) => void) | undefined;
  /**
   * The OS user the caller runs as, when the entry point knows it: a target that keeps an audit
   * log (the local target's control plane) records it as who made a change.
   */
  readonly user?: string | undefined;
}

/**
 * Optional abilities a plugin declares, so that tools (and the conformance kit) know what to
 * expect. Every key is optional and means `false` when absent.
 */
export interface TargetCapabilities {
  /** The endpoint methods are implemented. */
  readonly endpoints?: boolean;
  /** `predictStream` is implemented. */
  readonly predictStream?: boolean;
  /** `explain` is implemented. */
  readonly explain?: boolean;
  /** The rollout methods (`startRollout`, …) are implemented: metric-gated traffic shifting. */
  readonly rollouts?: boolean;
}

/** The constructor of a target's client class. */
export type DeploymentClientClass = new (targetUri: string, context: TargetContext) => BaseDeploymentClient;

/**
 * A target plugin: what a plugin module exports as its default export (see {@link defineTarget}),
 * the TypeScript form of MLflow's plugin module (a client class, `run_local`, `target_help`).
 */
export interface TargetPlugin {
  /** The contract version the plugin implements; {@link TARGET_API_VERSION} when written now. */
  readonly apiVersion: number;
  /** The client class: a subclass of `BaseDeploymentClient`. */
  readonly client: DeploymentClientClass;
  /**
   * Serves a model on this machine in the foreground until it is stopped (or `signal` aborts).
   * A model run this way is not managed by the client's other methods.
   */
  readonly runLocal: (
    name: string,
    modelUri: string,
    flavor: string | undefined,
    config: DeploymentConfig,
    context: TargetContext & { readonly signal?: AbortSignal },
  ) => Promise<void>;
  /** Help text: the URI forms the target accepts and its config keys. */
  readonly targetHelp: () => string;
  readonly capabilities?: TargetCapabilities;
}

/**
 * Declares a target plugin; the plugin module exports the result as its default export.
 *
 * @example
 * ```ts
 * export default defineTarget({
 *   apiVersion: TARGET_API_VERSION,
 *   client: MyClient,
 *   runLocal: async (name, modelUri) => { ... },
 *   targetHelp: () => 'Target URI: my-target[:/region] ...',
 *   capabilities: { endpoints: true },
 * });
 * ```
 */
export function defineTarget(plugin: TargetPlugin): TargetPlugin {
  return Object.freeze({ ...plugin });
}
