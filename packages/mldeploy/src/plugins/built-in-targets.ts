import type { PluginSource } from './plugin-source.js';

/**
 * Targets that ship inside mldeploy, registered in code rather than discovered. Each loads lazily
 * so that an unused target costs nothing at start-up.
 */
export const BUILT_IN_TARGETS: readonly PluginSource[] = [{ kind: 'built-in', target: 'local', load: () => import('../local-target/index.js') }];
