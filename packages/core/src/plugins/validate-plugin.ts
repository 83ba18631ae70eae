import { isDeploymentClientClass, type BaseDeploymentClient } from '../contract/base-deployment-client.js';
import { PredictionsResponse } from '../contract/predictions-response.js';
import { isRecord } from '../contract/table.js';
import { MlDeployError } from '../errors/index.js';
import { SUPPORTED_TARGET_API_VERSIONS, type DeploymentClientClass, type TargetPlugin } from './target-plugin.js';

/**
 * The methods a client class must implement: the abstract methods of `BaseDeploymentClient`
 * (MLflow's abstract base class refuses to instantiate a client without them).
 */
const REQUIRED_CLIENT_METHODS = [
  'createDeployment',
  'updateDeployment',
  'deleteDeployment',
  'listDeployments',
  'getDeployment',
  'predict',
] as const;

/**
 * The required methods `clientClass` lacks. Abstract methods do not exist at run time, so a method
 * found on the prototype chain is the plugin's own; nothing is constructed (a constructor may
 * need a context, and must not be run just to be checked).
 */
function missingClientMethods(clientClass: DeploymentClientClass): string[] {
  const prototype = clientClass.prototype as unknown as Record<string, unknown>;
  return REQUIRED_CLIENT_METHODS.filter((method) => typeof prototype[method] !== 'function');
}

/** At most this many characters of a wrong value go into a message. */
const SHOWN_CHARS = 200;

function shown(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}…` : text;
}

/**
 * What `predict` returned, as a {@link PredictionsResponse}: one as it is; one from another copy of
 * mldeploy (a plugin may bundle its own) or a plain `{"predictions": …}` document (what a plugin
 * ported from MLflow, whose `PredictionsResponse` is a dict, returns) converted.
 *
 * @throws MlDeployError `INVALID_PLUGIN` naming the plugin, for anything else.
 */
function checkedPredictions(where: string, target: string, value: unknown): PredictionsResponse {
  if (value instanceof PredictionsResponse) return value;
  const document = isRecord(value) && typeof value['toJSON'] === 'function' ? (value['toJSON'] as () => unknown).call(value) : value;
  if (isRecord(document) && Object.hasOwn(document, 'predictions')) return PredictionsResponse.from(document);
  throw new MlDeployError(
    'INVALID_PLUGIN',
    `${where} returned from predict ${shown(value)}, which is not a PredictionsResponse or a {"predictions": …} document`,
    { target, hint: 'Raise an issue with the plugin developers: predict must return PredictionsResponse.from({ predictions }).' },
  );
}

interface Predicting {
  predict(...args: Parameters<BaseDeploymentClient['predict']>): Promise<PredictionsResponse>;
}

/**
 * `clientClass` with `predict`'s answer checked: the core hands predictions on (the CLI prints
 * them, the server serves them), so a wrong answer is named here rather than printed as it is.
 */
function withCheckedPredict(where: string, target: string, clientClass: DeploymentClientClass): DeploymentClientClass {
  // TypeScript's rule for a class built on a class value: one rest parameter of type any[]. The
  // instance type names only predict, which the plugin's class implements (it was checked).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const Base = clientClass as unknown as new (...args: any[]) => Predicting;
  class CheckedClient extends Base {
    override async predict(...args: Parameters<BaseDeploymentClient['predict']>): Promise<PredictionsResponse> {
      return checkedPredictions(where, target, await super.predict(...args));
    }
  }
  // Messages and stack traces keep naming the plugin's class.
  Object.defineProperty(CheckedClient, 'name', { value: clientClass.name });
  return CheckedClient as unknown as DeploymentClientClass;
}

/**
 * Checks a loaded plugin module and returns its plugin.
 *
 * The module's default export is the plugin; a module without one is read through its named
 * exports (`apiVersion`, `client`, `runLocal`, `targetHelp`). Every problem is reported at once,
 * naming the target and where the plugin came from: missing interfaces, a client that is not a
 * `BaseDeploymentClient` subclass or lacks some of {@link REQUIRED_CLIENT_METHODS}, an unsupported
 * contract version. The returned plugin's client checks what `predict` returns.
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
  const clientClass = candidate['client'];
  if (!isDeploymentClientClass(clientClass)) {
    problems.push('it has no child class of BaseDeploymentClient (its `client` must be a class that extends BaseDeploymentClient)');
  } else {
    const missingMethods = missingClientMethods(clientClass);
    if (missingMethods.length > 0) {
      problems.push(
        `its client class ${clientClass.name || '(anonymous)'} does not implement the required methods ${missingMethods.join(', ')} (methods of the class, not instance properties)`,
      );
    }
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
  const plugin = candidate as unknown as TargetPlugin;
  return { ...plugin, client: withCheckedPredict(where, target, plugin.client) };
}
