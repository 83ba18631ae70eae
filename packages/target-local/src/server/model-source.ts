import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { MlDeployError } from '@mldeploy/core';
import { parseModelUri } from '@mldeploy/serving';
import type { ModelSource } from './control-plane-views.js';

/** A model the control plane can serve: a checked local directory, and the registry version if known. */
export interface LocalModel {
  readonly dir: string;
  readonly version: string | null;
}

function refused(message: string, hint: string): MlDeployError {
  return new MlDeployError('INVALID_PARAMETER_VALUE', message, { target: 'local', hint });
}

const MODEL_DIR_HINT = 'Send the folder that holds the MLmodel file, as an absolute path the control plane (running as you) can read.';

/** Checks that `dir` is a readable directory with a readable MLmodel file, before any worker starts. */
async function checkModelDir(dir: string, field: 'model_path' | 'model_uri'): Promise<string> {
  const kind = await stat(dir).then(
    (s) => (s.isDirectory() ? 'directory' : 'not a directory'),
    () => 'missing',
  );
  if (kind === 'missing') throw refused(`${field} ${dir} does not exist`, MODEL_DIR_HINT);
  if (kind !== 'directory') throw refused(`${field} ${dir} is not a directory`, MODEL_DIR_HINT);
  const readable = (file: string, mode: number): Promise<boolean> =>
    access(file, mode).then(
      () => true,
      () => false,
    );
  if (!(await readable(dir, constants.R_OK | constants.X_OK))) throw refused(`${field} ${dir} is not readable`, MODEL_DIR_HINT);
  const mlmodel = path.join(dir, 'MLmodel');
  const isFile = await stat(mlmodel).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile || !(await readable(mlmodel, constants.R_OK))) {
    throw refused(`${field} ${dir} has no readable MLmodel file: it is not an MLflow model directory`, MODEL_DIR_HINT);
  }
  return dir;
}

/**
 * The local directory a revision serves, checked. The control plane holds no credentials and
 * never downloads: a remote `modelUri` must come with the `modelPath` the client resolved it to
 * (in the caller's environment, with the caller's credentials). A local URI (a folder or
 * `file:`) serves as it is; relative ones are relative to the home.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` (400) saying what is wrong with the path, or
 * that a remote URI needs resolving by the client.
 */
export async function localModel(source: ModelSource, home: string): Promise<LocalModel> {
  const parsed = parseModelUri(source.modelUri, home);
  if (source.modelPath === undefined) {
    if (parsed.kind !== 'local') {
      throw refused(
        `The control plane does not download models: model_uri ${source.modelUri} is remote and the request has no model_path`,
        'Resolve the model on the client, in the environment that holds the registry credentials: the mldeploy CLI and client do this. ' +
          'A REST caller downloads it (e.g. mlflow artifacts download -u URI -d DIR) and sends model_path with that folder beside model_uri.',
      );
    }
    return { dir: await checkModelDir(parsed.path, 'model_uri'), version: null };
  }
  const given = source.modelPath;
  if (!path.isAbsolute(given)) throw refused(`model_path must be an absolute path, got ${JSON.stringify(given)}`, MODEL_DIR_HINT);
  if (given.includes('\0')) throw refused(`model_path must not contain NUL bytes, got ${JSON.stringify(given)}`, MODEL_DIR_HINT);
  // A '..' segment is never what a client that resolved a model sends: it is an attempt to climb out.
  if (given.split(/[\\/]/).includes('..')) {
    throw refused(`model_path must not contain '..' segments, got ${JSON.stringify(given)}`, MODEL_DIR_HINT);
  }
  return { dir: await checkModelDir(path.resolve(given), 'model_path'), version: source.modelVersion ?? null };
}
