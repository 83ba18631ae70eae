/**
 * Where a target's plugin comes from. Sources are plain data, found without importing anything;
 * a plugin's code is imported only when its target is first used.
 */
export type PluginSource =
  | {
      readonly kind: 'built-in';
      readonly target: string;
      readonly load: () => Promise<unknown>;
    }
  | {
      readonly kind: 'package';
      readonly target: string;
      readonly packageName: string;
      readonly packageDir: string;
      /** The module's absolute path, or the reason the declaration is unusable. */
      readonly module: { readonly path: string } | { readonly invalid: string };
    }
  | {
      readonly kind: 'module-path';
      readonly target: string;
      readonly modulePath: string;
    };

/** Names a source for messages: where the user can go to look at or fix it. */
export function describeSource(source: PluginSource): string {
  switch (source.kind) {
    case 'built-in':
      return 'built into mldeploy';
    case 'package':
      return `package ${source.packageName} at ${source.packageDir}`;
    case 'module-path':
      return `module ${source.modulePath} from MLDEPLOY_PLUGINS`;
  }
}
