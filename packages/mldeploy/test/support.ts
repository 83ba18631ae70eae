import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig, type ResolvedConfig } from 'mldeploy';

/** The test plugin modules under test/fixtures/plugins. */
export const PLUGIN_FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'plugins');

/** `MLDEPLOY_PLUGINS` value registering fixture plugins: `{ target: fileName }`. */
export function pluginsEnv(plugins: Record<string, string>): string {
  return Object.entries(plugins)
    .map(([target, file]) => `${target}=${path.join(PLUGIN_FIXTURES, file)}`)
    .join(',');
}

/** A resolved config with the given fixture plugins registered. */
export function configWithPlugins(plugins: Record<string, string>, env: Record<string, string> = {}, cwd = process.cwd()): ResolvedConfig {
  return resolveConfig({ env: { ...env, MLDEPLOY_PLUGINS: pluginsEnv(plugins) }, cwd, homeDir: tempDir('home') });
}

/** Writes `text` to a file `name` in a new temp folder and returns its path. */
export function tempFile(name: string, text: string): string {
  const file = path.join(tempDir('file'), name);
  writeFileSync(file, text);
  return file;
}

/** A new empty folder under the system's temp folder. */
export function tempDir(label: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `mldeploy-${label}-`));
}
