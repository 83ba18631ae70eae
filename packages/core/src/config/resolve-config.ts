import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { MlDeployError } from '../errors/index.js';

/** The environment variable that adds plugins not installed as packages: `name=path,name=path`. */
export const PLUGINS_ENV = 'MLDEPLOY_PLUGINS';

/** An explicitly configured plugin module. */
export interface PluginEntry {
  readonly target: string;
  readonly modulePath: string;
}

/**
 * mldeploy's resolved configuration: parsed, defaulted and frozen. Entry points (the CLI, and
 * `getDeployClient` when called without options) build it from the process; everything below
 * them receives it.
 */
export interface ResolvedConfig {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly homeDir: string;
  /** Plugins from `MLDEPLOY_PLUGINS`, module paths made absolute. */
  readonly plugins: readonly PluginEntry[];
  /** Where downloaded models are kept: `MLDEPLOY_CACHE_DIR`, else `~/.mldeploy/cache/models`. */
  readonly cacheDir: string;
  /** MLflow's CLI, for models served by MLflow's own scoring server: `MLDEPLOY_MLFLOW`, else `mlflow` on PATH. */
  readonly mlflowCommand: string;
  /** `MLDEPLOY_SERVER_TOKEN`: required to serve beyond loopback. A secret: never printed. */
  readonly serverToken: string | undefined;
  /** The OS user the entry point runs as (it passes it in): who made a change, in audit logs. */
  readonly user: string | undefined;
}

const pluginEntry = z
  .string()
  .transform((item) => item.trim())
  .pipe(z.string().regex(/^[a-z][a-z0-9+.-]*=.+$/, { error: 'must be NAME=MODULE_PATH, NAME a lowercase target name' }));

const rawConfig = z.object({
  cwd: z.string().min(1),
  homeDir: z.string().min(1),
  plugins: z.array(pluginEntry),
});

/** What {@link resolveConfig} reads. */
export interface ConfigSource {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly homeDir?: string;
  /** The OS user running the entry point (`os.userInfo().username`), recorded in audit logs. */
  readonly user?: string | undefined;
}

/**
 * Parses and freezes the configuration.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` naming the variable that is wrong.
 */
export function resolveConfig(source: ConfigSource): ResolvedConfig {
  const pluginsText = source.env[PLUGINS_ENV] ?? '';
  const parsed = rawConfig.safeParse({
    cwd: source.cwd,
    homeDir: source.homeDir ?? source.env['HOME'] ?? os.homedir(),
    plugins: pluginsText.split(',').filter((item) => item.trim() !== ''),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [field, index] = issue.path;
    const subject =
      field === 'plugins'
        ? `${PLUGINS_ENV} entry ${JSON.stringify(pluginsText.split(',').filter((i) => i.trim() !== '')[Number(index)])}`
        : String(field);
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid configuration: ${subject} ${issue.message}`, {
      hint: `Set ${PLUGINS_ENV} as comma-separated NAME=MODULE_PATH pairs, e.g. ${PLUGINS_ENV}=mytarget=./my-plugin.js`,
    });
  }
  const { cwd, homeDir, plugins } = parsed.data;
  const nonEmpty = (name: string): string | undefined =>
    source.env[name] === undefined || source.env[name] === '' ? undefined : source.env[name];
  return Object.freeze({
    env: Object.freeze({ ...source.env }),
    cwd: path.resolve(cwd),
    homeDir,
    cacheDir: path.resolve(cwd, nonEmpty('MLDEPLOY_CACHE_DIR') ?? path.join(homeDir, '.mldeploy', 'cache', 'models')),
    mlflowCommand: nonEmpty('MLDEPLOY_MLFLOW') ?? 'mlflow',
    serverToken: nonEmpty('MLDEPLOY_SERVER_TOKEN'),
    user: source.user === '' ? undefined : source.user,
    plugins: Object.freeze(
      plugins.map((item) => {
        const at = item.indexOf('=');
        return Object.freeze({ target: item.slice(0, at), modulePath: path.resolve(cwd, item.slice(at + 1)) });
      }),
    ),
  });
}
