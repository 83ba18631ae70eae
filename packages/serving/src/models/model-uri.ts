import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlDeployError } from '@mldeploy/core';

/** A model URI taken apart (MLflow §8). */
export type ModelUri =
  | { readonly kind: 'local'; readonly path: string }
  | { readonly kind: 'runs'; readonly runId: string; readonly path: string }
  | { readonly kind: 'models'; readonly name: string; readonly selector: ModelSelector; readonly subPath: string }
  | { readonly kind: 'logged-model'; readonly modelId: string; readonly subPath: string }
  | { readonly kind: 'artifacts'; readonly uri: string };

/** How a `models:/` URI picks a version. */
export type ModelSelector =
  | { readonly by: 'version'; readonly version: string }
  | { readonly by: 'alias'; readonly alias: string }
  | { readonly by: 'stage'; readonly stage: string }
  | { readonly by: 'latest' };

function invalid(uri: string, message: string): MlDeployError {
  return new MlDeployError('INVALID_PARAMETER_VALUE', message, {
    hint: `Model URIs: a local folder, file:///abs/dir, runs:/<run_id>/<path>, models:/<name>/<version|stage|latest>, models:/<name>@<alias>, models:/m-<id>, mlflow-artifacts:/<path> or http(s)://…/mlflow-artifacts/artifacts/<path>. Got ${JSON.stringify(uri)}.`,
  });
}

/**
 * Parses a model URI with MLflow's rules.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` with MLflow's messages for malformed URIs.
 */
export function parseModelUri(uri: string, cwd: string): ModelUri {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined || (scheme.length === 1 && /^[A-Za-z]:[\\/]/.test(uri))) {
    if (/^m-[0-9a-f]{32}$/.test(uri)) throw invalid(uri, `${uri} is not a model URI. Maybe you meant 'models:/${uri}'?`);
    return { kind: 'local', path: path.resolve(cwd, uri) };
  }
  if (scheme === 'file') return { kind: 'local', path: fileURLToPath(uri.startsWith('file://') ? uri : `file://${uri.slice(5)}`) };
  if (scheme === 'runs') {
    const match = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(uri);
    if (match === null || match[1] === '') {
      throw invalid(uri, `Not a proper runs:/ URI: ${uri}. Runs URIs must be of the form 'runs:/<run_id>/run-relative/path/to/artifact'`);
    }
    return { kind: 'runs', runId: match[1]!, path: (match[2] ?? '').replace(/\/+$/, '') };
  }
  if (scheme === 'models') {
    const rest = uri.slice('models:'.length);
    if (!rest.startsWith('/') || rest.startsWith('//')) throw invalidModels(uri);
    const body = rest.slice(1);
    const at = body.indexOf('@');
    if (at >= 0) {
      const name = body.slice(0, at);
      const [alias = '', ...sub] = body.slice(at + 1).split('/');
      if (name === '' || alias === '' || name.includes('/')) throw invalidModels(uri);
      return { kind: 'models', name, selector: { by: 'alias', alias }, subPath: sub.join('/') };
    }
    const [name = '', suffix, ...sub] = body.split('/');
    if (name === '') throw invalidModels(uri);
    if (suffix === undefined || suffix === '') {
      return { kind: 'logged-model', modelId: name, subPath: '' };
    }
    const selector: ModelSelector = /^\d+$/.test(suffix)
      ? { by: 'version', version: suffix }
      : suffix.toLowerCase() === 'latest'
        ? { by: 'latest' }
        : { by: 'stage', stage: suffix };
    return { kind: 'models', name, selector, subPath: sub.join('/') };
  }
  if (scheme === 'mlflow-artifacts' || scheme === 'http' || scheme === 'https') return { kind: 'artifacts', uri };
  throw invalid(uri, `Model URIs with the scheme "${scheme}" are not supported by mldeploy`);
}

function invalidModels(uri: string): MlDeployError {
  return invalid(
    uri,
    `Not a proper models:/ URI: ${uri}. Models URIs must be of the form 'models:/name/suffix' or 'models:/name@alias' where suffix is a version, stage, or the string 'latest' and where alias is a registered model alias. Only one of suffix or alias can be defined at a time.`,
  );
}
