import { MlDeployError } from '@mldeploy/core';

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

/** Query parameters that carry a credential (presigned S3 and GCS URLs, SAS tokens, bearer tokens). */
const CREDENTIAL_PARAMS =
  /^(x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|sig|signature|token|access_token)$/i;

/**
 * Refuses a model location that carries a credential (`user:password@`, a presigned or SAS URL):
 * it would be written into the cluster (an annotation, `storageUri`, an init container's args),
 * readable by anyone who may read the deployment.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` saying where credentials go instead.
 */
export function refuseCredentials(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return;
  }
  const params = [...url.searchParams.keys()].filter((key) => CREDENTIAL_PARAMS.test(key));
  if (url.username === '' && url.password === '' && params.length === 0) return;
  throw new MlDeployError(
    'INVALID_PARAMETER_VALUE',
    `The model location carries a credential (${url.username !== '' || url.password !== '' ? 'user and password' : params.join(', ')}), which would be written into the cluster`,
    {
      target: 'kubernetes',
      hint: 'Give the location without it, and the credentials in a Secret named by -C registry_secret (deployment mode) or the service account KServe uses (kserve mode).',
    },
  );
}
