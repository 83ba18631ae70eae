import { MlDeployError } from '../errors/index.js';
import { httpRequest } from '../http/http-request.js';
import { z } from 'zod';

/** Where a model's files are, as the cluster is to read them, and the registry version it came from. */
export interface ModelLocation {
  /** The files' location: a storage URI (`s3://…`) when the registry has one, else the model URI as given. */
  readonly location: string;
  readonly registered?: { readonly name: string; readonly version: string } | undefined;
}

const REGISTRY_URI = /^models:\/(?<name>[^/@]+)(?:@(?<alias>[^/]+)|\/(?<ref>[^/]+))$/;
const versionSchema = z.looseObject({ model_version: z.looseObject({ version: z.string() }) });
const latestSchema = z.looseObject({ model_versions: z.array(z.looseObject({ version: z.string() })).optional() });
const downloadSchema = z.looseObject({ artifact_uri: z.string() });

/**
 * Resolves a registry URI (`models:/name@alias`, `models:/name/3`, `models:/name/Production`)
 * through the MLflow registry the caller's environment names (`MLFLOW_REGISTRY_URI`, else
 * `MLFLOW_TRACKING_URI`) to where its files are (`get-download-uri`), so that a platform (KServe's
 * storage initializer, SageMaker) reads them straight from storage. Any other URI, or no http(s) registry,
 * gives the URI as it is. The registry's
 * credentials (`MLFLOW_TRACKING_TOKEN`, or user and password) go to that registry only.
 *
 * @throws MlDeployError `RESOURCE_DOES_NOT_EXIST` for a name, alias or version the registry does not have.
 */
export async function resolveModelLocation(
  modelUri: string,
  env: Readonly<Record<string, string | undefined>>,
  target: string,
): Promise<ModelLocation> {
  const match = REGISTRY_URI.exec(modelUri)?.groups;
  const registry = env['MLFLOW_REGISTRY_URI'] ?? env['MLFLOW_TRACKING_URI'];
  if (match === undefined || registry === undefined || !/^https?:\/\//.test(registry)) return { location: modelUri };
  let name: string;
  try {
    name = decodeURIComponent(match['name']!);
  } catch {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `Invalid model URI ${JSON.stringify(modelUri)}: malformed %-escape in the name`, {
      target,
    });
  }
  // Named in messages without any user:password it may carry.
  const shown = new URL(registry).origin;
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = env['MLFLOW_TRACKING_TOKEN'];
  const user = env['MLFLOW_TRACKING_USERNAME'];
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  else if (user !== undefined)
    headers['authorization'] = `Basic ${Buffer.from(`${user}:${env['MLFLOW_TRACKING_PASSWORD'] ?? ''}`).toString('base64')}`;
  const call = async <T>(pathname: string, schema: z.ZodType<T>, body?: unknown): Promise<T> => {
    // Relative, so that a registry under a path (https://host/mlflow) keeps it.
    const url = new URL(`api/2.0/mlflow/${pathname}`, registry.endsWith('/') ? registry : `${registry}/`);
    let response;
    try {
      response = await httpRequest(url.toString(), {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        timeoutMs: 30_000,
        target,
      });
    } catch (error) {
      // MLflow answers a missing name, alias or version with 404 or with 400 "... not found".
      if (error instanceof MlDeployError && (error.code === 'RESOURCE_DOES_NOT_EXIST' || / not found/i.test(error.message))) {
        throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `The registry at ${shown} has no ${modelUri}: ${error.message}`, {
          target,
          cause: error,
          hint: 'Check the name, the alias or version, and MLFLOW_TRACKING_URI (or MLFLOW_REGISTRY_URI).',
        });
      }
      throw error;
    }
    return schema.parse(JSON.parse(response.text));
  };
  const query = (params: Record<string, string>): string => new URLSearchParams(params).toString();
  let version: string;
  if (match['alias'] !== undefined) {
    version = (await call(`registered-models/alias?${query({ name, alias: match['alias'] })}`, versionSchema)).model_version.version;
  } else if (/^\d+$/.test(match['ref']!)) {
    version = match['ref']!;
  } else {
    const latest = await call('registered-models/get-latest-versions', latestSchema, { name, stages: [match['ref']] });
    const found = latest.model_versions?.[0]?.version;
    if (found === undefined) {
      throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `The registry at ${shown} has no version of "${name}" in stage ${match['ref']}`, {
        target,
      });
    }
    version = found;
  }
  const { artifact_uri } = await call(`model-versions/get-download-uri?${query({ name, version })}`, downloadSchema);
  return { location: artifact_uri, registered: { name, version } };
}
