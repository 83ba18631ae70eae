import { MlDeployError } from '@mldeploy/core';
import { DEPLOYMENT_LABEL, MANAGED_BY } from './labels.js';
import { recordedAnnotations, type ServingPlan } from './serving-deployment.js';

/** KServe's API group and version of InferenceService. */
export const KSERVE_GROUP = 'serving.kserve.io';
export const KSERVE_VERSION = 'v1beta1';
export const INFERENCE_SERVICES = 'inferenceservices';

/** An InferenceService as mldeploy writes and reads it: the fields it uses, the rest kept as they are. */
export interface InferenceService {
  apiVersion: string;
  kind: 'InferenceService';
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
  };
  spec: {
    predictor: Predictor;
    /** KServe v0.20's canary form (deployment mode Standard): the new predictor beside `predictor`, with its share. */
    canary?: { predictor: Predictor; trafficPercent: number }[];
  };
  status?: InferenceServiceStatus;
}

/** An InferenceService's predictor as mldeploy writes it. */
export interface Predictor {
  minReplicas?: number;
  maxReplicas?: number;
  canaryTrafficPercent?: number;
  serviceAccountName?: string;
  model: {
    name: string;
    modelFormat: { name: string };
    protocolVersion?: string;
    storageUri: string;
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  };
}

/** The annotation that picks KServe's deployment mode; `Standard` (formerly RawDeployment) allows `spec.canary[]`. */
const DEPLOYMENT_MODE_ANNOTATION = 'serving.kserve.io/deploymentMode';

/** The parts of an InferenceService's status that KServe's controller fills in and mldeploy reads. */
export interface InferenceServiceStatus {
  url?: string;
  address?: { url?: string };
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  /** v0.20, with `spec.canary[]`: each canary's readiness and share, and why its model failed. */
  canaryStatuses?: {
    name: string;
    ready: boolean;
    trafficPercent: number;
    modelStatus?: { lastFailureInfo?: { reason?: string; message?: string } };
  }[];
  components?: {
    predictor?: {
      url?: string;
      latestReadyRevision?: string;
      latestCreatedRevision?: string;
      previousRolledoutRevision?: string;
      latestRolledoutRevision?: string;
      traffic?: { tag?: string; revisionName?: string; percent?: number; latestRevision?: boolean }[];
    };
  };
}

/**
 * The InferenceService of `kserve` mode: KServe's MLflow model format (served by the
 * ServingRuntime KServe picks for it, MLServer by default) reading the model from `storageUri`.
 * A canary (`canaryTrafficPercent`) splits traffic between the last rolled-out revision and this
 * one by KServe's rules; with `kserve_deployment_mode=Standard` it takes v0.20's `spec.canary[]`
 * form instead: `stable` (the predictor serving now) stays, the new one runs beside it.
 */
export function inferenceService(
  plan: ServingPlan,
  options: { canaryTrafficPercent?: number | undefined; stable?: Predictor | undefined } = {},
): InferenceService {
  const { source, config } = plan;
  if (source.kind === 'download') {
    throw new MlDeployError(
      'INVALID_PARAMETER_VALUE',
      `KServe reads models from storage it can reach (s3://, gs://, pvc://, http(s)://), not from ${JSON.stringify(source.uri)}`,
      {
        target: 'kubernetes',
        hint: "Give the model's storage location (a registry model resolves to one when its artifacts are in s3:// or gs://), or use -C mode=deployment, where mldeploy downloads it.",
      },
    );
  }
  const compute = { cpu: config.cpu, memory: config.memory };
  const predictor: Predictor = {
    minReplicas: config.replicas,
    maxReplicas: config.replicas,
    ...(config.service_account === undefined ? {} : { serviceAccountName: config.service_account }),
    model: {
      name: plan.name,
      modelFormat: { name: 'mlflow' },
      protocolVersion: 'v2',
      storageUri: source.uri,
      resources: { requests: compute, limits: { ...compute, ...(config.gpu > 0 ? { 'nvidia.com/gpu': String(config.gpu) } : {}) } },
    },
  };
  const standard = config.kserve_deployment_mode === 'Standard';
  const canary = options.canaryTrafficPercent;
  const spec: InferenceService['spec'] =
    canary === undefined
      ? { predictor }
      : standard && options.stable !== undefined
        ? { predictor: options.stable, canary: [{ predictor, trafficPercent: canary }] }
        : { predictor: { ...predictor, canaryTrafficPercent: canary } };
  return {
    apiVersion: `${KSERVE_GROUP}/${KSERVE_VERSION}`,
    kind: 'InferenceService',
    metadata: {
      name: plan.name,
      namespace: plan.namespace,
      labels: { ...MANAGED_BY, [DEPLOYMENT_LABEL]: plan.name },
      annotations: {
        ...recordedAnnotations(plan),
        ...(config.kserve_deployment_mode === undefined ? {} : { [DEPLOYMENT_MODE_ANNOTATION]: config.kserve_deployment_mode }),
      },
    },
    spec,
  };
}
