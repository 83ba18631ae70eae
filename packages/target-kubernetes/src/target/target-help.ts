import { DEFAULT_IMAGE } from '../config/kubernetes-config.js';
import { rbacRoleYaml } from './rbac.js';

/** `mldeploy help -t kubernetes`: URIs, modes, config keys, where models come from, RBAC. */
export function targetHelp(): string {
  return `Target URIs:
  kubernetes                          the kubeconfig's current context and its namespace (else "default")
  kubernetes:/<context>               a context of the kubeconfig
  kubernetes:/<context>/<namespace>   a context and a namespace (a context with '/' written as %2F)
The kubeconfig is found as kubectl finds it: KUBECONFIG (files merged), ~/.kube/config, or the
service account of the pod mldeploy runs in.

Modes (-C mode=...):
  deployment (default)  an apps/v1 Deployment + a ClusterIP Service running mldeploy's serving runtime
                        (image ${DEFAULT_IMAGE}, MLflow's scoring protocol and the Open Inference
                        Protocol on port 8080); rolling updates with no replica down (maxUnavailable: 0),
                        readiness on /v2/health/ready; a failed update is rolled back by itself.
  kserve                a KServe InferenceService (serving.kserve.io/v1beta1, model format mlflow) reading
                        the model from storageUri; updates may be canaries (canary_traffic_percent);
                        'mldeploy rollback' sends all traffic back to the last rolled-out revision.

Config keys (-C key=value):
  mode                    deployment | kserve                          (deployment)
  replicas                pods serving the model, 1-1000               (1)
  cpu, memory             requested and limited per pod                (1, 2Gi)
  gpu                     nvidia.com/gpu per pod                       (0)
  image                   the serving image (deployment mode)          (${DEFAULT_IMAGE})
  timeout                 seconds to wait for a rollout                (600)
  canary_traffic_percent  kserve updates: the new revision's share of traffic, 0-100
  kserve_deployment_mode  Serverless | Standard: KServe's deployment mode annotation; with Standard a
                          canary takes KServe v0.20's spec.canary[] form (the stable predictor stays)
  registry_secret         a Secret whose keys (MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN, AWS_*, ...)
                          become the environment of the container that fetches the model
  service_account         the pods' ServiceAccount
  token_secret            deployment mode: a Secret whose "token" the pods require of callers
                          (default: a Secret made for the deployment, deleted with it)
  predict_via             url | proxy: kserve predictions to status.url, or through the API
                          server's service proxy (deployment mode always uses the proxy)  (url)

Models: s3://, gs://, http(s):// and pvc://<claim>/<path> are read by the cluster itself (KServe's
storage initializer; a PVC is mounted). Other URIs (models:/, runs:/, mlflow-artifacts:/) are
downloaded in an init container by mldeploy's runtime, with registry_secret's credentials; they
need mode=deployment. Credentials are only ever referenced by Secret name, never written into a manifest.

Predictions: 'mldeploy predict -t kubernetes:/...' posts to the Service through the API server's
service proxy (needs services/proxy), or to the InferenceService's status.url.
Endpoints (traffic split between deployments) are not supported: in kserve mode split traffic
between revisions of one deployment with canary_traffic_percent.
explain: not supported (the serving runtime answers predictions only).

RBAC: the role of the kubeconfig's user needs, in the namespace:
${rbacRoleYaml()
  .split('\n')
  .map((line) => `  ${line}`)
  .join('\n')}
`;
}
