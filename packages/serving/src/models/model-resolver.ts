import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { MlDeployError, errorFromBody, isMlDeployError, maxOf, parseBodyText, type DownloadProgress } from '@mldeploy/core';
import { apiUrl, authorizationFor, checkModelHost, mlflowRequest, withRetries, type MlflowConnection } from './mlflow-connection.js';
import { parseModelUri, type ModelUri } from './model-uri.js';

/** A model URI resolved to a local MLflow model directory. */
export interface ResolvedModel {
  /** The URI as given. */
  readonly uri: string;
  /** The local model directory. */
  readonly dir: string;
  /** Where the files came from (an artifact location, or the local folder itself). */
  readonly source: string;
  /** The registry version a `models:/` URI resolved to. */
  readonly registered: { readonly name: string; readonly version: string } | undefined;
  /** Whether the files were already in the cache. */
  readonly cached: boolean;
}

// The type is core's, so that a target plugin can report a download the same way.
export type { DownloadProgress };

/** What {@link resolveModel} needs. */
export interface ModelResolverOptions {
  readonly connection: MlflowConnection;
  /** Downloaded models are kept here, one folder per artifact location. */
  readonly cacheDir: string;
  readonly cwd: string;
  readonly onProgress?: (progress: DownloadProgress) => void;
}

type Step = 'resolve' | 'list' | 'download';

const STEP_HINTS: Record<Step, string> = {
  resolve:
    'Check that the name, version, alias or run exists in the registry, and that MLFLOW_TRACKING_URI (or MLFLOW_REGISTRY_URI) points at it with the right credentials.',
  list: 'Check that the tracking server serves artifacts (mlflow server --serve-artifacts) and that the artifact path exists.',
  download: 'Check the connection to the tracking server and free disk space, then retry.',
};

function stepError(uri: string, step: Step, error: unknown): MlDeployError {
  const cause = isMlDeployError(error) ? error : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return new MlDeployError(cause?.code ?? 'INTERNAL_ERROR', `Could not load model ${uri} (step: ${step}): ${message}`, {
    cause: error,
    hint: cause?.hint ?? STEP_HINTS[step],
  });
}

async function stepRun<T>(uri: string, step: Step, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw stepError(uri, step, error);
  }
}

function requireServer(kind: 'tracking' | 'registry', connection: MlflowConnection): string {
  const base = kind === 'registry' ? connection.registryUri : connection.trackingUri;
  if (base === undefined || !/^https?:\/\//.test(base)) {
    throw new MlDeployError(
      'INVALID_PARAMETER_VALUE',
      `This URI needs an MLflow ${kind} server, and ${kind === 'registry' ? 'MLFLOW_REGISTRY_URI / ' : ''}MLFLOW_TRACKING_URI is ${base === undefined ? 'not set' : `not an http(s) URL (${base})`}`,
      {
        hint: 'Set MLFLOW_TRACKING_URI=http://<host>:<port>.',
      },
    );
  }
  return base;
}

async function getJson(connection: MlflowConnection, url: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await mlflowRequest(connection, url, body === undefined ? {} : { method: 'POST', body });
  return JSON.parse(response.text) as Record<string, unknown>;
}

/** Resolves a `models:/` selector to a version number, with the registry's REST API. */
async function registryVersion(
  connection: MlflowConnection,
  base: string,
  name: string,
  selector: Extract<ModelUri, { kind: 'models' }>['selector'],
): Promise<string> {
  switch (selector.by) {
    case 'version':
      return selector.version;
    case 'alias': {
      const body = await getJson(connection, apiUrl(base, '/api/2.0/mlflow/registered-models/alias', { name, alias: selector.alias }));
      return String((body['model_version'] as Record<string, unknown>)['version']);
    }
    case 'stage':
    case 'latest': {
      const stages = selector.by === 'stage' ? [selector.stage] : [];
      const body = await getJson(connection, apiUrl(base, '/api/2.0/mlflow/registered-models/get-latest-versions'), { name, stages });
      const versions = ((body['model_versions'] as Record<string, unknown>[] | undefined) ?? []).map((v) => Number(v['version']));
      if (versions.length === 0) {
        throw new MlDeployError(
          'RESOURCE_DOES_NOT_EXIST',
          `No versions of model with name '${name}'${selector.by === 'stage' ? ` and stage '${selector.stage}'` : ''} found`,
        );
      }
      return String(maxOf(versions, (v) => v));
    }
  }
}

/** An artifact location mldeploy can read: a local folder, or MLflow's artifact proxy over HTTP. */
type Location =
  | { readonly kind: 'local'; readonly dir: string }
  | { readonly kind: 'http'; readonly listUrl: string; readonly root: string; readonly fileBase: string };

const PROXY_PATH = '/mlflow-artifacts/artifacts';

function locate(artifactUri: string, connection: MlflowConnection): Location {
  if (artifactUri.startsWith('/')) return { kind: 'local', dir: artifactUri };
  if (artifactUri.startsWith('file:')) return { kind: 'local', dir: new URL(artifactUri).pathname };
  let httpUri = artifactUri;
  if (artifactUri.startsWith('mlflow-artifacts:')) {
    const parsed = new URL(artifactUri);
    const tracking = new URL(requireServer('tracking', connection));
    if (parsed.host !== '') tracking.host = parsed.host;
    tracking.pathname = `${tracking.pathname.replace(/\/+$/, '')}/api/2.0${PROXY_PATH}/${parsed.pathname.replace(/^\/+/, '')}`;
    httpUri = tracking.toString();
  }
  if (/^https?:/.test(httpUri) && httpUri.includes(PROXY_PATH)) {
    checkModelHost(connection, httpUri);
    const at = httpUri.indexOf(PROXY_PATH);
    const root = decodeURIComponent(
      httpUri
        .slice(at + PROXY_PATH.length)
        .replace(/^\/+/, '')
        .replace(/\/+$/, ''),
    );
    return { kind: 'http', listUrl: `${httpUri.slice(0, at)}${PROXY_PATH}`, root, fileBase: httpUri.replace(/\/+$/, '') };
  }
  throw new MlDeployError('INVALID_PARAMETER_VALUE', `The artifact location ${artifactUri} cannot be read by mldeploy`, {
    hint: "mldeploy reads artifacts through MLflow's artifact proxy: start the tracking server with --serve-artifacts, so that artifact URIs are mlflow-artifacts:/…",
  });
}

/** Rejects file paths from a listing that would escape the download folder. */
function safeRelative(relative: string): string {
  const normal = path.posix.normalize(relative);
  if (
    relative === '' ||
    relative.includes('\\') ||
    relative.includes('\0') ||
    normal.startsWith('../') ||
    normal === '..' ||
    path.posix.isAbsolute(relative)
  ) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `The artifact listing contains an unsafe path ${JSON.stringify(relative)}`, {
      hint: 'The server is misbehaving or malicious; nothing was written.',
    });
  }
  return normal;
}

interface RemoteFile {
  readonly path: string;
  readonly size: number | undefined;
}

async function listRecursive(connection: MlflowConnection, location: Extract<Location, { kind: 'http' }>, sub = ''): Promise<RemoteFile[]> {
  const query = [location.root, sub].filter((p) => p !== '').join('/');
  const body = await getJson(connection, `${location.listUrl}?${new URLSearchParams({ path: query }).toString()}`);
  const files: RemoteFile[] = [];
  for (const entry of (body['files'] as Record<string, unknown>[] | undefined) ?? []) {
    const name = safeRelative(String(entry['path']));
    const relative = sub === '' ? name : `${sub}/${name}`;
    if (entry['is_dir'] === true) files.push(...(await listRecursive(connection, location, relative)));
    else files.push({ path: relative, size: entry['file_size'] === undefined ? undefined : Number(entry['file_size']) });
  }
  return files;
}

async function downloadFile(connection: MlflowConnection, url: string, target: string, expectedSize: number | undefined): Promise<number> {
  return withRetries(connection, async () => {
    try {
      const response = await fetch(url, {
        headers: authorizationFor(connection, url),
        signal: AbortSignal.timeout(connection.timeoutMs),
      });
      if (!response.ok || response.body === null) {
        throw errorFromBody(response.status, parseBodyText(await response.text()), { url: url.replace(/\/\/[^@/]*@/, '//') });
      }
      await mkdir(path.dirname(target), { recursive: true });
      await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(target));
      const { size } = await stat(target);
      if (expectedSize !== undefined && size !== expectedSize) {
        throw new MlDeployError('TEMPORARILY_UNAVAILABLE', `${path.basename(target)} arrived with ${size} bytes, ${expectedSize} expected`);
      }
      return size;
    } catch (error) {
      // Classified where it happens: a cut stream or a timeout is worth a retry.
      if (isMlDeployError(error)) throw error;
      throw new MlDeployError(
        error instanceof Error && error.name === 'TimeoutError' ? 'DEADLINE_EXCEEDED' : 'TEMPORARILY_UNAVAILABLE',
        `Downloading ${url}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  });
}

/**
 * Downloads the artifact folder at `location` into the cache, atomically: files land in a
 * temporary folder that is renamed into place only when complete, so a crash or a failed
 * download never leaves half a model, and a concurrent download of the same model is harmless.
 */
// The cache is keyed by artifact location, which several registry versions may share, so it holds
// only the model's own files: MLflow's `registered_model_meta` would be wrong for all but one of
// them. The version a URI resolved to is in ResolvedModel.registered instead.
async function fetchToCache(
  uri: string,
  location: Extract<Location, { kind: 'http' }>,
  options: ModelResolverOptions,
): Promise<{ dir: string; cached: boolean }> {
  const key = createHash('sha256').update(location.fileBase).digest('hex').slice(0, 32);
  const dir = path.join(options.cacheDir, key);
  if (
    await stat(path.join(dir, 'MLmodel')).then(
      () => true,
      () => false,
    )
  )
    return { dir, cached: true };
  const files = await stepRun(uri, 'list', () => listRecursive(options.connection, location));
  if (!files.some((f) => f.path === 'MLmodel')) {
    throw stepError(
      uri,
      'list',
      new MlDeployError(
        'RESOURCE_DOES_NOT_EXIST',
        `No MLmodel file at ${location.fileBase}: it is not an MLflow model folder (found ${files.length} files)`,
      ),
    );
  }
  await mkdir(options.cacheDir, { recursive: true });
  const temp = path.join(options.cacheDir, `.partial-${key}-${randomBytes(4).toString('hex')}`);
  try {
    let bytesDone = 0;
    for (const [i, file] of files.entries()) {
      const url = `${location.fileBase}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
      bytesDone += await stepRun(uri, 'download', () => downloadFile(options.connection, url, path.join(temp, file.path), file.size));
      options.onProgress?.({ uri, filesDone: i + 1, filesTotal: files.length, bytesDone });
    }
    try {
      await rename(temp, dir);
    } catch (error) {
      // Another process finished the same download first: its copy is as good as ours.
      if (!['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
    return { dir, cached: false };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/** The artifact URI a run path resolves to, with MLflow 3's fallback to a logged model named after its first segment. */
async function runArtifactUri(connection: MlflowConnection, base: string, runId: string, runPath: string): Promise<string> {
  const run = await getJson(connection, apiUrl(base, '/api/2.0/mlflow/runs/get', { run_id: runId }));
  const info = (run['run'] as Record<string, Record<string, unknown>>)['info']!;
  const direct = `${String(info['artifact_uri']).replace(/\/+$/, '')}${runPath === '' ? '' : `/${runPath}`}`;
  const [first, ...rest] = runPath.split('/');
  if (first === undefined || first === '') return direct;
  const search = await getJson(connection, apiUrl(base, '/api/2.0/mlflow/logged-models/search'), {
    experiment_ids: [String(info['experiment_id'])],
    filter: `name = '${first.replace(/'/g, "\\'")}'`,
  });
  const models = ((search['models'] as Record<string, Record<string, unknown>>[] | undefined) ?? [])
    .map((m) => m['info']!)
    .filter((m) => m['source_run_id'] === runId);
  const logged = models[0];
  if (logged === undefined) return direct;
  // Run files win only when the run itself holds the model (MLflow 2 style logging).
  return `${String(logged['artifact_uri']).replace(/\/+$/, '')}${rest.length === 0 ? '' : `/${rest.join('/')}`}`;
}

/**
 * Resolves any MLflow model URI to a local model directory: local folders are used in place;
 * `runs:/`, `models:/`, `mlflow-artifacts:` and http(s) artifact URIs are resolved through
 * MLflow's REST API and downloaded into the cache (keyed by the artifact location they resolved
 * to, so a moved alias fetches the new version and an unchanged one costs nothing).
 *
 * @throws MlDeployError naming the URI, the step that failed and what to check.
 */
export async function resolveModel(uri: string, options: ModelResolverOptions): Promise<ResolvedModel> {
  const parsed = parseModelUri(uri, options.cwd);
  if (parsed.kind === 'local') {
    const exists = await stat(parsed.path).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!exists)
      throw stepError(
        uri,
        'resolve',
        new MlDeployError('RESOURCE_DOES_NOT_EXIST', `${parsed.path} is not a folder`, {
          hint: 'Check the path: a local model URI is the folder that holds the MLmodel file.',
        }),
      );
    return { uri, dir: parsed.path, source: parsed.path, registered: undefined, cached: false };
  }
  const { connection } = options;
  let artifactUri: string;
  let registered: ResolvedModel['registered'];
  if (parsed.kind === 'artifacts') {
    artifactUri = parsed.uri;
  } else {
    artifactUri = await stepRun(uri, 'resolve', async () => {
      switch (parsed.kind) {
        case 'runs':
          return runArtifactUri(connection, requireServer('tracking', connection), parsed.runId, parsed.path);
        case 'logged-model': {
          const body = await getJson(
            connection,
            apiUrl(requireServer('tracking', connection), `/api/2.0/mlflow/logged-models/${encodeURIComponent(parsed.modelId)}`),
          );
          return String((body['model'] as Record<string, Record<string, unknown>>)['info']!['artifact_uri']);
        }
        case 'models': {
          const base = requireServer('registry', connection);
          const version = await registryVersion(connection, base, parsed.name, parsed.selector);
          registered = { name: parsed.name, version };
          const body = await getJson(
            connection,
            apiUrl(base, '/api/2.0/mlflow/model-versions/get-download-uri', { name: parsed.name, version }),
          );
          const download = String(body['artifact_uri']).replace(/\/+$/, '');
          return parsed.subPath === '' ? download : `${download}/${parsed.subPath}`;
        }
      }
    });
  }
  const location = await stepRun(uri, 'resolve', () => Promise.resolve(locate(artifactUri, connection)));
  if (location.kind === 'local') {
    const exists = await stat(path.join(location.dir, 'MLmodel')).then(
      () => true,
      () => false,
    );
    if (!exists) throw stepError(uri, 'list', new MlDeployError('RESOURCE_DOES_NOT_EXIST', `No MLmodel file in ${location.dir}`));
    return { uri, dir: location.dir, source: location.dir, registered, cached: false };
  }
  const { dir, cached } = await fetchToCache(uri, location, options);
  return { uri, dir, source: location.fileBase, registered, cached };
}
