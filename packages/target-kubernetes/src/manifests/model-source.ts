/**
 * How pods get a model:
 * - `storage`: a location the cluster reads by itself (`s3://`, `gs://`, `pvc://`, `http(s)://`):
 *   KServe's storage initializer fetches it (KServe passes it as `storageUri`; in `deployment` mode
 *   the same initializer runs as an init container), and a `pvc://` is mounted directly;
 * - `download`: anything else (`models:/`, `runs:/`, `mlflow-artifacts:/`): mldeploy's own runtime
 *   downloads it in an init container, with the registry settings of the Secret the user names.
 */
export type ModelSource =
  | { readonly kind: 'pvc'; readonly claim: string; readonly path: string; readonly uri: string }
  | { readonly kind: 'storage'; readonly uri: string }
  | { readonly kind: 'download'; readonly uri: string };

const STORAGE_SCHEMES = new Set(['s3', 'gs', 'http', 'https', 'hdfs', 'webhdfs', 'oci', 'hf']);

/** Where `modelUri` (a model URI the client resolved to its artifact location, where it could) is read from. */
export function modelSourceFor(modelUri: string): ModelSource {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(modelUri)?.[1]?.toLowerCase();
  if (scheme === 'pvc') {
    const rest = modelUri.slice('pvc://'.length);
    const slash = rest.indexOf('/');
    return {
      kind: 'pvc',
      claim: slash === -1 ? rest : rest.slice(0, slash),
      path: slash === -1 ? '' : rest.slice(slash + 1),
      uri: modelUri,
    };
  }
  if (scheme !== undefined && STORAGE_SCHEMES.has(scheme)) return { kind: 'storage', uri: modelUri };
  return { kind: 'download', uri: modelUri };
}
