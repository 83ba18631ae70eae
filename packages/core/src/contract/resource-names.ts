import { MlDeployError } from '../errors/index.js';

/**
 * Deployment and endpoint names every mldeploy target accepts: 1 to 63 letters, digits, `.`, `_`
 * and `-`, starting with a letter or digit. Safe in URLs, file names, Kubernetes object names
 * (after lowercasing) and logs, and never a path (`../x` is refused).
 */
export const RESOURCE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Throws `INVALID_PARAMETER_VALUE` for a name outside {@link RESOURCE_NAME_PATTERN}.
 *
 * @param kind what is named, for the message (`deployment`, `endpoint`)
 * @param target the target refusing it, recorded on the error
 */
export function checkResourceName(kind: string, name: string, target: string): void {
  if (!RESOURCE_NAME_PATTERN.test(name)) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid ${kind} name ${JSON.stringify(name)}`, {
      target,
      hint: 'Names have 1 to 63 characters: letters, digits, ".", "_" and "-", starting with a letter or digit.',
    });
  }
}
