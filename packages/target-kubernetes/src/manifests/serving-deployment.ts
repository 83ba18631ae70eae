import type { V1Container, V1Deployment, V1Secret, V1Service, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { MlDeployError } from '@mldeploy/core';
import type { KubernetesConfig } from '../config/kubernetes-config.js';
import { ANNOTATIONS, DEPLOYMENT_LABEL, MANAGED_BY } from './labels.js';
import type { ModelSource } from './model-source.js';

/** What one deployment serves, as the manifest builders take it. */
export interface ServingPlan {
  readonly name: string;
  readonly namespace: string;
  /** The model URI as the user gave it (recorded in an annotation). */
  readonly modelUri: string;
  /** The registry version a `models:/` URI resolved to, when it did. */
  readonly modelVersion?: string | undefined;
  /** Where pods read the model from (see {@link ModelSource}). */
  readonly source: ModelSource;
  readonly flavor: string | undefined;
  readonly config: KubernetesConfig;
  /** The config exactly as the user gave it, recorded so that `get` shows it. */
  readonly rawConfig: Readonly<Record<string, unknown>>;
}

/** The port the serving container listens on (8080, as KServe and SageMaker expect). */
export const SERVING_PORT = 8080;
/** Where the model is, inside the serving container. */
export const MODEL_DIR = '/mnt/models';
/** KServe's storage initializer, which fetches `s3://`, `gs://`, `http(s)://` models (v0.20.0). */
const STORAGE_INITIALIZER_IMAGE = 'kserve/storage-initializer:v0.20.0';

/** The annotations recording what was deployed. */
export function recordedAnnotations(plan: ServingPlan): Record<string, string> {
  return {
    [ANNOTATIONS.modelUri]: plan.modelUri,
    ...(plan.modelVersion === undefined ? {} : { [ANNOTATIONS.modelVersion]: plan.modelVersion }),
    ...(plan.flavor === undefined ? {} : { [ANNOTATIONS.flavor]: plan.flavor }),
    [ANNOTATIONS.config]: JSON.stringify(plan.rawConfig),
  };
}

function labels(plan: ServingPlan): Record<string, string> {
  return { ...MANAGED_BY, [DEPLOYMENT_LABEL]: plan.name };
}

/** Requests and limits: CPU and memory requested and capped alike (a Guaranteed pod), GPUs as `nvidia.com/gpu` limits. */
function resources(config: KubernetesConfig): V1Container['resources'] {
  const base = { cpu: config.cpu, memory: config.memory };
  return { requests: base, limits: { ...base, ...(config.gpu > 0 ? { 'nvidia.com/gpu': String(config.gpu) } : {}) } };
}

/** No root, no privilege escalation, no capabilities: what a restricted Pod Security Standard asks. */
const RESTRICTED = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** The init container and volumes that put the model at {@link MODEL_DIR}. */
function modelVolumes(plan: ServingPlan): { init: V1Container[]; volumes: V1Volume[]; mount: V1VolumeMount; modelDir: string } {
  const { source, config } = plan;
  if (source.kind === 'pvc') {
    if (source.claim === '' || source.path.split('/').includes('..')) {
      throw new MlDeployError(
        'INVALID_PARAMETER_VALUE',
        `Invalid pvc:// model URI ${JSON.stringify(source.uri)}: expected pvc://<claim>/<path> without '..'`,
        {
          target: 'kubernetes',
        },
      );
    }
    return {
      init: [],
      volumes: [{ name: 'model', persistentVolumeClaim: { claimName: source.claim, readOnly: true } }],
      mount: { name: 'model', mountPath: MODEL_DIR, readOnly: true, ...(source.path === '' ? {} : { subPath: source.path }) },
      modelDir: MODEL_DIR,
    };
  }
  const fetcher: V1Container =
    source.kind === 'storage'
      ? { name: 'storage-initializer', image: STORAGE_INITIALIZER_IMAGE, args: [source.uri, MODEL_DIR] }
      : { name: 'model-download', image: config.image, args: ['models', 'download', '--model-uri', source.uri, '--dest', MODEL_DIR] };
  return {
    init: [
      {
        ...fetcher,
        // Registry or storage credentials by reference: the Secret's keys become the environment (never inlined here).
        ...(config.registry_secret === undefined ? {} : { envFrom: [{ secretRef: { name: config.registry_secret } }] }),
        volumeMounts: [{ name: 'model', mountPath: MODEL_DIR }],
        resources: resources({ ...config, gpu: 0 }),
        securityContext: RESTRICTED,
      },
    ],
    volumes: [{ name: 'model', emptyDir: {} }],
    mount: { name: 'model', mountPath: MODEL_DIR, readOnly: true },
    modelDir: MODEL_DIR,
  };
}

/** The serving container's command line: mldeploy's scoring server on the model (all interfaces, port 8080 in a pod). */
export function servingArgs(
  modelDir: string,
  flavor: string | undefined,
  listen: { host: string; port: number } = { host: '0.0.0.0', port: SERVING_PORT },
): string[] {
  return [
    'models',
    'serve',
    '--model-uri',
    modelDir,
    '--host',
    listen.host,
    '--port',
    String(listen.port),
    ...(flavor === undefined ? [] : ['--flavor', flavor]),
  ];
}

/**
 * The `apps/v1` Deployment of `deployment` mode: mldeploy's serving runtime, rolled out with no
 * replica down at any time (`maxUnavailable: 0`), ready once `/v2/health/ready` answers.
 */
export function servingDeployment(plan: ServingPlan): V1Deployment {
  const model = modelVolumes(plan);
  const selector = { [DEPLOYMENT_LABEL]: plan.name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: plan.name, namespace: plan.namespace, labels: labels(plan), annotations: recordedAnnotations(plan) },
    spec: {
      replicas: plan.config.replicas,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      // A rollout that makes no progress for this long is reported failed (ProgressDeadlineExceeded).
      progressDeadlineSeconds: plan.config.timeout,
      template: {
        // The annotations are in the template too: a new model URI or config makes a new ReplicaSet.
        metadata: { labels: labels(plan), annotations: recordedAnnotations(plan) },
        spec: {
          ...(plan.config.service_account === undefined ? {} : { serviceAccountName: plan.config.service_account }),
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 },
          initContainers: model.init,
          containers: [
            {
              name: 'model',
              image: plan.config.image,
              args: servingArgs(model.modelDir, plan.flavor),
              ports: [{ name: 'http', containerPort: SERVING_PORT, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/v2/health/ready', port: 'http' }, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { httpGet: { path: '/v2/health/live', port: 'http' }, periodSeconds: 10, failureThreshold: 6 },
              startupProbe: {
                httpGet: { path: '/v2/health/ready', port: 'http' },
                periodSeconds: 5,
                failureThreshold: Math.ceil(plan.config.timeout / 5),
              },
              // The runtime serves beyond loopback only with a token; callers send it (see tokenSecretName).
              env: [{ name: 'MLDEPLOY_SERVER_TOKEN', valueFrom: { secretKeyRef: { name: tokenSecretOf(plan), key: TOKEN_KEY } } }],
              resources: resources(plan.config),
              volumeMounts: [model.mount],
              securityContext: RESTRICTED,
            },
          ],
          volumes: model.volumes,
        },
      },
    },
  };
}

/** The ClusterIP Service in front of a `deployment`-mode Deployment, port 80 → the container's 8080. */
export function servingService(plan: ServingPlan): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: plan.name, namespace: plan.namespace, labels: labels(plan) },
    spec: {
      type: 'ClusterIP',
      selector: { [DEPLOYMENT_LABEL]: plan.name },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

/** The key of the token in the deployment's token Secret. */
export const TOKEN_KEY = 'token';

/**
 * The Secret holding a `deployment`-mode deployment's serving token: the pods read it as
 * `MLDEPLOY_SERVER_TOKEN`, and `predict` reads it to call them. Only who may read Secrets in the
 * namespace can call the model.
 */
export function tokenSecretName(name: string): string {
  return `${name}-mldeploy-token`;
}

/** The Secret whose `token` the deployment's pods require: the user's (`token_secret`), else the one mldeploy makes. */
function tokenSecretOf(plan: Pick<ServingPlan, 'name' | 'config'>): string {
  return plan.config.token_secret ?? tokenSecretName(plan.name);
}

/** The token Secret of {@link tokenSecretName}, holding `token`. */
export function tokenSecret(plan: ServingPlan, token: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: tokenSecretName(plan.name), namespace: plan.namespace, labels: labels(plan) },
    stringData: { [TOKEN_KEY]: token },
  };
}
