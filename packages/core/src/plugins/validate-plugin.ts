import { isDeploymentClientClass } from '../contract/base-deployment-client.js';
import { MlDeployError } from '../errors/index.js';
import { SUPPORTED_TARGET_API_VERSIONS, type TargetPlugin } from './target-plugin.js';

/**
 * Checks a loaded plugin module and returns its plugin.
 *
 * The module's default export is the plugin; a module without one is read through its named
 * exports (`apiVersion`, `client`, `runLocal`, `targetHelp`). Every problem is reported at once,
 * naming the target and where the plugin came from.
 *
 * @throws MlDeployError `INVALID_PLUGIN`
 */
export function validatePluginModule(target: string, origin: string, moduleNamespace: unknown): TargetPlugin {
  const namespace = (moduleNamespace ?? {}) as Record<string, unknown>;
  const candidate =
    typeof namespace['default'] === 'object' && namespace['default'] !== null
      ? (namespace['default'] as Record<string, unknown>)
      : namespace;
  const where = `Plugin registered for the target ${target} (${origin})`;
  const hint = 'Raise an issue with the plugin developers, or see docs/plugins.md for the plugin contract.';

  const missing = ['apiVersion', 'client', 'runLocal', 'targetHelp'].filter((key) => candidate[key] === undefined);
  if (missing.length > 0) {
    throw new MlDeployError(
      'INVALID_PLUGIN',
      `${where} does not have all the required interfaces. Missing interfaces: ${missing.join(', ')}`,
      { target, hint },
    );
  }
  const problems: string[] = [];
  const version = candidate['apiVersion'];
  if (typeof version !== 'number' || !SUPPORTED_TARGET_API_VERSIONS.includes(version)) {
    problems.push(
      `it implements plugin contract version ${JSON.stringify(version)}, and this mldeploy supports version ${SUPPORTED_TARGET_API_VERSIONS.join(', ')}`,
    );
  }
  if (!isDeploymentClientClass(candidate['client'])) {
    problems.push('it has no child class of BaseDeploymentClient (its `client` must be a class that extends BaseDeploymentClient)');
  }
  for (const key of ['runLocal', 'targetHelp']) {
    if (typeof candidate[key] !== 'function') problems.push(`its \`${key}\` is not a function`);
  }
  const capabilities = candidate['capabilities'];
  if (capabilities !== undefined && (typeof capabilities !== 'object' || capabilities === null)) {
    problems.push('its `capabilities` is not an object');
  }
  if (problems.length > 0) {
    throw new MlDeployError('INVALID_PLUGIN', `${where} is not a valid mldeploy plugin: ${problems.join('; ')}`, { target, hint });
  }
  return candidate as unknown as TargetPlugin;
}
