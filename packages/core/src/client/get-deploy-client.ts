import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { resolveConfig, type ResolvedConfig } from '../config/resolve-config.js';
import { discoverPackagePlugins } from '../plugins/discover-packages.js';
import { PluginRegistry, type BrokenTarget, type LoadedPlugin } from '../plugins/plugin-registry.js';
import type { PluginSource } from '../plugins/plugin-source.js';
import type { DownloadProgress, TargetCapabilities, TargetContext } from '../plugins/target-plugin.js';
import type { BaseDeploymentClient, DeploymentConfig } from '../contract/base-deployment-client.js';
import { getDeploymentsTarget } from '../contract/deployments-target.js';
import { parseTargetUri } from '../contract/target-uri.js';

/**
 * A target that ships with the application rather than being discovered: the composition root
 * (the `mldeploy` package) registers the `local` target this way. It loads lazily, so an unused
 * target costs nothing at start-up.
 */
export interface BuiltInTarget {
  readonly target: string;
  /** Imports the plugin module (its default export or named exports are the plugin). */
  readonly load: () => Promise<unknown>;
}

/** Options shared by the client entry points. */
export interface ClientOptions {
  /** A resolved configuration; by default it is read from this process (env and cwd). */
  readonly config?: ResolvedConfig;
  /** Where plugins may write progress lines; silent by default. */
  readonly log?: (line: string) => void;
  /** Where plugins report a model download's progress; silent by default. */
  readonly onDownloadProgress?: (progress: DownloadProgress) => void;
  /** Targets registered in code, ahead of discovered packages (see {@link BuiltInTarget}). */
  readonly builtInTargets?: readonly BuiltInTarget[];
  /**
   * The target {@link getDeployClient} uses when it is given none and none is set (in code or in
   * `MLFLOW_DEPLOYMENTS_TARGET`). The `mldeploy` package sets its built-in `local`, as its CLI
   * does; without one, `getDeployClient()` throws.
   */
  readonly defaultTarget?: string;
}

const registries = new Map<string, Promise<PluginRegistry>>();

/**
 * The plugin registry for a configuration: built-in targets, `MLDEPLOY_PLUGINS`, and the packages
 * installed above the working directory and above mldeploy itself (which covers global
 * installs). Discovery runs once per configuration and is cached.
 */
function pluginRegistryFor(config: ResolvedConfig, builtInTargets: readonly BuiltInTarget[] = []): Promise<PluginRegistry> {
  const key = JSON.stringify([config.cwd, config.plugins, builtInTargets.map((t) => t.target)]);
  let registry = registries.get(key);
  if (registry === undefined) {
    const ownLocation = fileURLToPath(new URL('.', import.meta.url));
    registry = discoverPackagePlugins([config.cwd, ownLocation]).then(
      (packages) =>
        new PluginRegistry({
          explicit: config.plugins.map((entry): PluginSource => ({
            kind: 'module-path',
            target: entry.target,
            modulePath: entry.modulePath,
          })),
          builtIn: builtInTargets.map((t): PluginSource => ({ kind: 'built-in', target: t.target, load: t.load })),
          packages,
        }),
    );
    registries.set(key, registry);
  }
  return registry;
}

/** The OS user this process runs as; none when the system has no entry for its uid (a container's, say). */
function processUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

function configOf(options: ClientOptions | undefined): ResolvedConfig {
  return options?.config ?? resolveConfig({ env: process.env, cwd: process.cwd(), user: processUser() });
}

function contextOf(config: ResolvedConfig, options: ClientOptions | undefined): TargetContext {
  return Object.freeze({
    env: config.env,
    cwd: config.cwd,
    homeDir: config.homeDir,
    log: options?.log ?? (() => undefined),
    onDownloadProgress: options?.onDownloadProgress,
    user: config.user,
  });
}

async function loadTarget(targetUri: string, config: ResolvedConfig, options: ClientOptions | undefined): Promise<LoadedPlugin> {
  const { target } = parseTargetUri(targetUri);
  return (await pluginRegistryFor(config, options?.builtInTargets)).load(target);
}

/**
 * Returns the deployment client for a target URI, such as `remote`, `local:/srv/mldeploy` or
 * `sagemaker:/us-east-1`. The URI's scheme (or the whole string, without one) names the target
 * plugin; the client receives the full URI.
 *
 * Without `targetUri`, the default target is used: the one set with `setDeploymentsTarget`, else
 * `MLFLOW_DEPLOYMENTS_TARGET` from the configuration's environment, else `options.defaultTarget`
 * (`local` through the `mldeploy` package). Unlike MLflow, which returns None when no target is
 * set, without any of them this throws an error that says how to set one.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` (no or malformed target),
 * `RESOURCE_DOES_NOT_EXIST` (no plugin for the target), `PLUGIN_LOAD_FAILED`, `INVALID_PLUGIN`.
 *
 * @example
 * ```ts
 * const client = await getDeployClient('remote');
 * await client.createDeployment('iris', 'http://127.0.0.1:5001');
 * const response = await client.predict('iris', { inputs: [[5.1, 3.5, 1.4, 0.2]] });
 * ```
 */
export async function getDeployClient(targetUri?: string, options?: ClientOptions): Promise<BaseDeploymentClient> {
  const config = configOf(options);
  const uri = targetUri === undefined || targetUri === '' ? getDeploymentsTarget(config.env, options?.defaultTarget) : targetUri;
  const { plugin } = await loadTarget(uri, config, options);
  return new plugin.client(uri, contextOf(config, options));
}

/**
 * Serves a model on this machine with `target`'s plugin, in the foreground, until it stops or
 * `signal` aborts. A model run this way is not managed by the client's other methods.
 */
export async function runLocal(
  target: string,
  name: string,
  modelUri: string,
  flavor?: string,
  config?: DeploymentConfig,
  options?: ClientOptions & { readonly signal?: AbortSignal },
): Promise<void> {
  const resolved = configOf(options);
  const { plugin } = await loadTarget(target, resolved, options);
  const context = contextOf(resolved, options);
  await plugin.runLocal(
    name,
    modelUri,
    flavor,
    config ?? {},
    options?.signal === undefined ? context : { ...context, signal: options.signal },
  );
}

/** The help text of `target`'s plugin: its URI forms and config keys. */
export async function targetHelp(target: string, options?: ClientOptions): Promise<string> {
  const { plugin } = await loadTarget(target, configOf(options), options);
  return plugin.targetHelp();
}

/**
 * The optional abilities `targetUri`'s plugin declares (`endpoints`, `rollouts`, …; an absent key
 * means `false`). Loads the plugin, contacts nothing: tools check what a target can do before
 * they change anything.
 */
export async function targetCapabilities(targetUri: string, options?: ClientOptions): Promise<TargetCapabilities> {
  const { plugin } = await loadTarget(targetUri, configOf(options), options);
  return plugin.capabilities ?? {};
}

/** The names of the installed targets. */
export async function installedTargets(options?: ClientOptions): Promise<string[]> {
  return (await pluginRegistryFor(configOf(options), options?.builtInTargets)).targets();
}

/**
 * The targets installed packages declare wrongly, with where and why: they are not in
 * {@link installedTargets}, and using one gives `INVALID_PLUGIN` naming the package.
 */
export async function brokenTargets(options?: ClientOptions): Promise<BrokenTarget[]> {
  return (await pluginRegistryFor(configOf(options), options?.builtInTargets)).brokenTargets();
}
