import { pathToFileURL } from 'node:url';
import { MlDeployError } from '../errors/index.js';
import { describeSource, type PluginSource } from './plugin-source.js';
import type { TargetPlugin } from './target-plugin.js';
import { validatePluginModule } from './validate-plugin.js';

/** A target whose declaration cannot be used: discovery found it, and says why it will not load. */
export interface BrokenTarget {
  readonly target: string;
  /** Where it was declared, for messages. */
  readonly origin: string;
  /** What is wrong with the declaration. */
  readonly reason: string;
}

/** The installed target nearest to a mistyped one, if any is near enough to be the one meant. */
function nearestTarget(typed: string, installed: readonly string[]): string | undefined {
  // One edit in three characters: "locl" finds "local", "gcp" does not find "local".
  const limit = Math.max(1, Math.floor(typed.length / 3));
  let best: { target: string; distance: number } | undefined;
  for (const target of installed) {
    const distance = editDistance(typed, target);
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { target, distance };
  }
  return best?.target;
}

/** Levenshtein distance: insertions, deletions and substitutions to turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    previous = current;
  }
  return previous[b.length]!;
}

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

  /** The installed target names, sorted; declarations that cannot be used are in {@link brokenTargets}. */
  targets(): string[] {
    return [...this.sources.values()]
      .filter((source) => !(source.kind === 'package' && 'invalid' in source.module))
      .map((source) => source.target)
      .sort();
  }

  /**
   * The targets installed packages declare wrongly (a name that cannot be used in a URI, a module
   * path that leaves the package), sorted: found by discovery, so that they are reported as
   * broken up front rather than listed as installed; using one gives `INVALID_PLUGIN`.
   */
  brokenTargets(): BrokenTarget[] {
    const broken: BrokenTarget[] = [];
    for (const source of this.sources.values()) {
      if (source.kind === 'package' && 'invalid' in source.module) {
        broken.push({ target: source.target, origin: describeSource(source), reason: source.module.invalid });
      }
    }
    return broken.sort((a, b) => a.target.localeCompare(b.target));
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
    const suggestion = nearestTarget(target, installed);
    return new MlDeployError(
      'RESOURCE_DOES_NOT_EXIST',
      `No plugin found for managing model deployments to "${target}". ` +
        (suggestion === undefined ? '' : `Did you mean "${suggestion}"? `) +
        (installed.length > 0 ? `Installed targets: ${installed.join(', ')}.` : 'No deployment targets are installed.'),
      {
        hint:
          suggestion === undefined
            ? `In order to deploy models to "${target}", install a package that provides it (its package.json declares "mldeploy": {"targets": {"${target}": "<module>"}}), or set MLDEPLOY_PLUGINS=${target}=/path/to/plugin.js.`
            : `Use the target "${suggestion}"; or, to deploy models to "${target}", install a package that provides it.`,
        details: { installed_targets: installed, ...(suggestion === undefined ? {} : { did_you_mean: suggestion }) },
      },
    );
  }
}
