import { pathToFileURL } from 'node:url';
import { MlDeployError } from '../errors/index.js';
import { describeSource, type PluginSource } from './plugin-source.js';
import type { TargetPlugin } from './target-plugin.js';
import { validatePluginModule } from './validate-plugin.js';

/** A plugin that loaded and passed validation. */
export interface LoadedPlugin {
  readonly target: string;
  /** Where it came from, for messages. */
  readonly origin: string;
  readonly plugin: TargetPlugin;
}

/**
 * The targets mldeploy can manage and where each one's plugin comes from.
 *
 * Precedence, highest first: `MLDEPLOY_PLUGINS` entries (an explicit choice), built-in targets,
 * then installed packages nearest the working directory. Plugins are imported on first use, then
 * validated and cached by target name.
 */
export class PluginRegistry {
  private readonly sources = new Map<string, PluginSource>();
  private readonly loaded = new Map<string, Promise<LoadedPlugin>>();

  /** No I/O: `sources` are found beforehand (see `discoverPackagePlugins`). */
  constructor(sources: {
    readonly explicit?: readonly PluginSource[];
    readonly builtIn?: readonly PluginSource[];
    readonly packages?: readonly PluginSource[];
  }) {
    for (const source of [...(sources.explicit ?? []), ...(sources.builtIn ?? []), ...(sources.packages ?? [])]) {
      if (!this.sources.has(source.target)) this.sources.set(source.target, source);
    }
  }

  /** The installed target names, sorted. */
  targets(): string[] {
    return [...this.sources.keys()].sort();
  }

  /**
   * Loads and validates the plugin for `target` (a target name, not a URI).
   *
   * @throws MlDeployError `RESOURCE_DOES_NOT_EXIST` for an unknown target (listing those
   * installed), `PLUGIN_LOAD_FAILED` when its module cannot be imported, `INVALID_PLUGIN` when it
   * does not fulfil the contract.
   */
  load(target: string): Promise<LoadedPlugin> {
    let pending = this.loaded.get(target);
    if (pending === undefined) {
      pending = this.importAndValidate(target);
      this.loaded.set(target, pending);
      // A failed load is not cached: the user may fix the plugin and retry in a long-lived process.
      pending.catch(() => this.loaded.delete(target));
    }
    return pending;
  }

  private async importAndValidate(target: string): Promise<LoadedPlugin> {
    const source = this.sources.get(target);
    if (source === undefined) throw this.unknownTarget(target);
    const origin = describeSource(source);
    let namespace: unknown;
    try {
      switch (source.kind) {
        case 'built-in':
          namespace = await source.load();
          break;
        case 'package':
          if ('invalid' in source.module) {
            throw new MlDeployError(
              'INVALID_PLUGIN',
              `Plugin registered for the target ${target} (${origin}) is declared wrongly: ${source.module.invalid}`,
              {
                target,
                hint: `Fix the "mldeploy" field in ${source.packageName}'s package.json (see docs/plugins.md).`,
              },
            );
          }
          namespace = await import(pathToFileURL(source.module.path).href);
          break;
        case 'module-path':
          namespace = await import(pathToFileURL(source.modulePath).href);
          break;
      }
    } catch (error) {
      if (error instanceof MlDeployError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new MlDeployError('PLUGIN_LOAD_FAILED', `Failed to load the plugin "${target}" (${origin}): ${reason}`, {
        target,
        cause: error,
        hint: 'Check that the plugin is installed completely and built; reinstall it if needed.',
      });
    }
    return { target, origin, plugin: validatePluginModule(target, origin, namespace) };
  }

  private unknownTarget(target: string): MlDeployError {
    const installed = this.targets();
    return new MlDeployError(
      'RESOURCE_DOES_NOT_EXIST',
      `No plugin found for managing model deployments to "${target}". ` +
        (installed.length > 0 ? `Installed targets: ${installed.join(', ')}.` : 'No deployment targets are installed.'),
      {
        hint: `In order to deploy models to "${target}", install a package that provides it (its package.json declares "mldeploy": {"targets": {"${target}": "<module>"}}), or set MLDEPLOY_PLUGINS=${target}=/path/to/plugin.js.`,
        details: { installed_targets: installed },
      },
    );
  }
}
