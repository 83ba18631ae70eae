import path from 'node:path';
import { MlDeployError } from '../errors/index.js';

/** A target URI taken apart: the plugin name that manages it, and the URI as the user gave it. */
export interface ParsedTargetUri {
  /** The target (plugin) name: the URI's scheme, lowercased, or the whole URI when it has none. */
  readonly target: string;
  /** The URI exactly as given; clients receive this and parse their own suffix. */
  readonly uri: string;
  /** What follows `<scheme>:`, e.g. `/us-east-1` for `sagemaker:/us-east-1`; empty without a scheme. */
  readonly suffix: string;
}

// RFC 3986 scheme syntax, as Python's urlparse applies it: a letter, then letters, digits, + - .
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s;

/**
 * Parses a deployment target URI the way MLflow does (`parse_target_uri`): `sagemaker:/us-east-1`
 * names the target `sagemaker`, `http://host:5000` names `http`, and a string without a scheme
 * (`local`, `faketarget`) is the target name itself.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` for an empty URI or one without a usable name.
 */
export function parseTargetUri(uri: string): ParsedTargetUri {
  const trimmed = uri.trim();
  const match = SCHEME.exec(trimmed);
  if (match !== null) {
    return { target: match[1]!.toLowerCase(), uri: trimmed, suffix: match[2]! };
  }
  // Like urlparse, a string with no scheme is a bare path, and that path is the target name.
  if (trimmed !== '' && !trimmed.startsWith('/') && !trimmed.includes('?') && !trimmed.includes('#')) {
    return { target: trimmed, uri: trimmed, suffix: '' };
  }
  throw new MlDeployError(
    'INVALID_PARAMETER_VALUE',
    `Not a proper deployment URI: ${JSON.stringify(uri)}. Deployment URIs must be of the form 'target' or 'target:/suffix'`,
    { hint: "Examples: 'local', 'remote:/srv/mldeploy', 'sagemaker:/us-east-1'." },
  );
}

/**
 * Whether `name` can be a target name in both URI forms (`name` and `name:/suffix`).
 * MLflow accepts names such as `my_target` that then fail in the `name:/suffix` form; mldeploy
 * refuses them when a plugin declares them.
 */
export function isValidTargetName(name: string): boolean {
  return /^[a-z][a-z0-9+.-]*$/.test(name);
}

/**
 * The folder a target keeps its state in, from its URI: `NAME:/ABS/DIR` names it; plain `NAME`
 * (or `NAME:/`) gives `defaultHome`. A relative or `//`-prefixed suffix is refused, so a URI can
 * never point a target somewhere it did not mean.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE`
 */
export function homeFromTargetUri(targetUri: string, defaultHome: string): string {
  const at = targetUri.indexOf(':');
  const suffix = at < 0 ? '' : targetUri.slice(at + 1);
  if (suffix === '' || suffix === '/') return defaultHome;
  const target = at < 0 ? targetUri : targetUri.slice(0, at);
  if (!suffix.startsWith('/') || suffix.startsWith('//')) {
    throw new MlDeployError(
      'INVALID_PARAMETER_VALUE',
      `Invalid ${target} target URI ${JSON.stringify(targetUri)}: the suffix must be an absolute folder`,
      {
        target,
        hint: `Use '${target}' or '${target}:/absolute/folder'.`,
      },
    );
  }
  return path.resolve(suffix);
}
