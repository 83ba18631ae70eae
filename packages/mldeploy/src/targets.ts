import {
  brokenTargets as coreBrokenTargets,
  getDeployClient as coreGetDeployClient,
  installedTargets as coreInstalledTargets,
  runLocal as coreRunLocal,
  targetCapabilities as coreTargetCapabilities,
  targetHelp as coreTargetHelp,
  type BaseDeploymentClient,
  type BrokenTarget,
  type BuiltInTarget,
  type ClientOptions,
  type TargetCapabilities,
} from '@mldeploy/core';

/**
 * The targets that ship with mldeploy. The plugin system knows nothing of them: they are
 * registered here, at the composition root, and load on first use.
 */
export const BUILT_IN_TARGETS: readonly BuiltInTarget[] = [{ target: 'local', load: () => import('@mldeploy/target-local') }];

/** The target `getDeployClient()` uses when none is given or set: the built-in one, as on the CLI. */
const DEFAULT_TARGET = 'local';

function withBuiltIns<T extends ClientOptions>(options: T | undefined): T & ClientOptions {
  return {
    defaultTarget: DEFAULT_TARGET,
    ...(options as T),
    builtInTargets: [...BUILT_IN_TARGETS, ...(options?.builtInTargets ?? [])],
  };
}

/**
 * Returns the deployment client for a target URI, with the built-in `local` target available
 * beside every installed plugin. Without a URI: the target set with `setDeploymentsTarget`, else
 * `MLFLOW_DEPLOYMENTS_TARGET` (from `options.config`'s environment, or the process's), else
 * `local`, as on the CLI. See `getDeployClient` in `@mldeploy/core` for the rules.
 *
 * @example
 * ```ts
 * const client = await getDeployClient('local');
 * await client.createDeployment('iris', 'models:/iris@champion');
 * ```
 */
export function getDeployClient(targetUri?: string, options?: ClientOptions): Promise<BaseDeploymentClient> {
  return coreGetDeployClient(targetUri, withBuiltIns(options));
}

/** Serves a model on this machine with `target`'s plugin, in the foreground, until `signal` aborts. */
export const runLocal: typeof coreRunLocal = (target, name, modelUri, flavor, config, options) =>
  coreRunLocal(target, name, modelUri, flavor, config, withBuiltIns(options));

/** The help text of `target`'s plugin: its URI forms and config keys. */
export function targetHelp(target: string, options?: ClientOptions): Promise<string> {
  return coreTargetHelp(target, withBuiltIns(options));
}

/** What `targetUri`'s plugin declares it can do (`endpoints`, `rollouts`, …), the built-in targets included; contacts nothing. */
export function targetCapabilities(targetUri: string, options?: ClientOptions): Promise<TargetCapabilities> {
  return coreTargetCapabilities(targetUri, withBuiltIns(options));
}

/** The names of the installed targets, the built-in ones included. */
export function installedTargets(options?: ClientOptions): Promise<string[]> {
  return coreInstalledTargets(withBuiltIns(options));
}

/** The targets installed packages declare wrongly, with where and why (see `brokenTargets` in `@mldeploy/core`). */
export function brokenTargets(options?: ClientOptions): Promise<BrokenTarget[]> {
  return coreBrokenTargets(withBuiltIns(options));
}
