import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig, type ResolvedConfig } from '@mldeploy/core';
import { tempDir } from '../../../test/support/temp.js';

/** The test plugin modules under test/fixtures/plugins. */
const PLUGIN_FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'plugins');

/** The absolute path of a fixture plugin module. */
export function pluginPath(file: string): string {
  return path.join(PLUGIN_FIXTURES, file);
}

/** `MLDEPLOY_PLUGINS` value registering fixture plugins: `{ target: fileName }`. */
export function pluginsEnv(plugins: Record<string, string>): string {
  return Object.entries(plugins)
    .map(([target, file]) => `${target}=${pluginPath(file)}`)
    .join(',');
}

/** A resolved config with the given fixture plugins registered. */
export function configWithPlugins(plugins: Record<string, string>, env: Record<string, string> = {}, cwd = process.cwd()): ResolvedConfig {
  return resolveConfig({ env: { ...env, MLDEPLOY_PLUGINS: pluginsEnv(plugins) }, cwd, homeDir: tempDir('home') });
}
