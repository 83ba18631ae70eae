import { describe, expect, it } from 'vitest';
import { MlDeployError } from '@mldeploy/core';
import { parseKubernetesConfig } from '../src/config/kubernetes-config.js';
import { inferenceService } from '../src/manifests/inference-service.js';
import { checkKubernetesName } from '../src/manifests/labels.js';
import { modelSourceFor, refuseCredentials } from '../src/manifests/model-source.js';
import { servingDeployment, servingService, type ServingPlan } from '../src/manifests/serving-deployment.js';
import { parseKubernetesUri } from '../src/target/kubernetes-uri.js';

function plan(modelUri: string, config: Record<string, unknown> = {}): ServingPlan {
  return {
    name: 'iris',
    namespace: 'ml',
    modelUri,
    source: modelSourceFor(modelUri),
    flavor: 'onnx',
    config: parseKubernetesConfig(config),
    rawConfig: config,
  };
}

function refusal(run: () => unknown): MlDeployError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MlDeployError);
    return error as MlDeployError;
  }
  throw new Error('expected a refusal');
}

describe('kubernetes target URIs', () => {
  it.each([
    ['kubernetes', { context: undefined, namespace: undefined }],
    ['kubernetes:/', { context: undefined, namespace: undefined }],
    ['kubernetes:/kind-dev', { context: 'kind-dev', namespace: undefined }],
    ['kubernetes:/kind-dev/ml-prod', { context: 'kind-dev', namespace: 'ml-prod' }],
    ['kubernetes:/arn:aws:eks:us-east-1:1234:cluster%2Fprod/ml', { context: 'arn:aws:eks:us-east-1:1234:cluster/prod', namespace: 'ml' }],
  ])('%s names context and namespace', (uri, expected) => {
    expect(parseKubernetesUri(uri)).toEqual(expected);
  });

  it.each([
    ['kubernetes:/a/b/c', 'expected at most a context and a namespace'],
    ['kubernetes:/ctx/Not_A_Namespace', 'is not a valid Kubernetes namespace'],
    ['kubernetes://ns', 'the context is empty'],
    ['kubernetes:/ctx%zz', 'is not valid percent-encoding'],
    ['kubernetes:ctx', "must start with '/'"],
  ])('%s is refused: %s', (uri, why) => {
    const error = refusal(() => parseKubernetesUri(uri));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain(why);
  });
});

describe('config keys', () => {
  it('fill in defaults and read -C strings as numbers', () => {
    expect(parseKubernetesConfig({ replicas: '3', gpu: '1' })).toMatchObject({
      mode: 'deployment',
      replicas: 3,
      gpu: 1,
      cpu: '1',
      memory: '2Gi',
      timeout: 600,
    });
  });

  it.each([
    [{ replicas: 'abc' }, 'replicas must be a whole number from 1 to 1000'],
    [{ replicas: '0' }, 'replicas must be a whole number from 1 to 1000'],
    [{ cpu: 'lots' }, 'cpu must be a Kubernetes quantity such as 500m or 2'],
    [{ mode: 'knative' }, 'mode must be one of deployment, kserve'],
    [{ canary_traffic_percent: '150' }, 'canary_traffic_percent must be a whole number from 0 to 100'],
    [{ registry_secret: 'Not Valid' }, 'registry_secret must name a Secret'],
    [{ replica: '2' }, 'unknown config key(s) "replica"'],
  ])('%j is refused: %s', (config, why) => {
    const error = refusal(() => parseKubernetesConfig(config));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain(why);
    expect(error.hint).toContain('Known keys: mode, replicas');
  });
});

describe('names', () => {
  it.each(['Iris', 'iris_v2', '9lives', 'a'.repeat(64), 'ends-'])('%s cannot name a Kubernetes object, with a suggestion', (name) => {
    const error = refusal(() => checkKubernetesName(name));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.hint).toMatch(/^For example "[a-z]([-a-z0-9]*[a-z0-9])?"\.$/);
  });
});

describe('the Deployment and Service of deployment mode', () => {
  it('roll out with no replica down, probe OIP readiness, and size resources from config', () => {
    const deployment = servingDeployment(
      plan('models:/iris@prod', { replicas: '2', cpu: '500m', memory: '1Gi', gpu: '1', registry_secret: 'mlflow-creds' }),
    );
    expect(deployment.spec?.replicas).toBe(2);
    expect(deployment.spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(container.readinessProbe?.httpGet?.path).toBe('/v2/health/ready');
    expect(container.resources).toEqual({
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { cpu: '500m', memory: '1Gi', 'nvidia.com/gpu': '1' },
    });
    expect(container.args).toEqual([
      'models',
      'serve',
      '--model-uri',
      '/mnt/models',
      '--host',
      '0.0.0.0',
      '--port',
      '8080',
      '--flavor',
      'onnx',
    ]);
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false });
    // A registry model is downloaded by mldeploy's runtime in an init container, its credentials by Secret reference only.
    expect(pod.initContainers).toHaveLength(1);
    expect(pod.initContainers![0]).toMatchObject({
      name: 'model-download',
      args: ['models', 'download', '--model-uri', 'models:/iris@prod', '--dest', '/mnt/models'],
      envFrom: [{ secretRef: { name: 'mlflow-creds' } }],
    });
    // Nothing secret is inlined: environment values come from Secrets by reference only.
    const env = [...pod.initContainers!, ...pod.containers].flatMap((c) => c.env ?? []);
    expect(env.filter((e) => e.value !== undefined)).toEqual([]);
    expect(pod.containers[0]!.env).toEqual([
      { name: 'MLDEPLOY_SERVER_TOKEN', valueFrom: { secretKeyRef: { name: 'iris-mldeploy-token', key: 'token' } } },
    ]);
    expect(deployment.metadata?.annotations).toMatchObject({
      'mldeploy.dev/model-uri': 'models:/iris@prod',
      'mldeploy.dev/flavor': 'onnx',
    });
    expect(deployment.spec?.template.metadata?.annotations?.['mldeploy.dev/model-uri']).toBe('models:/iris@prod');
  });

  it('fetch s3:// models with KServe storage initializer and mount pvc:// models read-only', () => {
    const s3 = servingDeployment(plan('s3://bucket/models/iris'));
    expect(s3.spec!.template.spec!.initContainers![0]).toMatchObject({
      name: 'storage-initializer',
      args: ['s3://bucket/models/iris', '/mnt/models'],
    });
    const pvc = servingDeployment(plan('pvc://models/iris/1'));
    expect(pvc.spec!.template.spec!.initContainers).toEqual([]);
    expect(pvc.spec!.template.spec!.volumes).toEqual([{ name: 'model', persistentVolumeClaim: { claimName: 'models', readOnly: true } }]);
    expect(pvc.spec!.template.spec!.containers[0]!.volumeMounts).toEqual([
      { name: 'model', mountPath: '/mnt/models', readOnly: true, subPath: 'iris/1' },
    ]);
  });

  it('refuse a pvc:// path that climbs out of the claim', () => {
    expect(refusal(() => servingDeployment(plan('pvc://models/../etc'))).message).toContain("without '..'");
  });

  it('put a ClusterIP Service on port 80 in front of the pods', () => {
    expect(servingService(plan('s3://b/m')).spec).toEqual({
      type: 'ClusterIP',
      selector: { 'mldeploy.dev/deployment': 'iris' },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    });
  });
});

describe('the InferenceService of kserve mode', () => {
  it("serves the MLflow model format from storageUri, with KServe's canary when asked", () => {
    const service = inferenceService(plan('s3://bucket/iris', { mode: 'kserve', replicas: '2' }), { canaryTrafficPercent: 10 });
    expect(service.apiVersion).toBe('serving.kserve.io/v1beta1');
    expect(service.spec.predictor).toMatchObject({
      minReplicas: 2,
      maxReplicas: 2,
      canaryTrafficPercent: 10,
      model: { modelFormat: { name: 'mlflow' }, protocolVersion: 'v2', storageUri: 's3://bucket/iris' },
    });
  });

  it('refuses a model KServe cannot read, saying what to do', () => {
    const error = refusal(() => inferenceService(plan('models:/iris@prod', { mode: 'kserve' })));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.hint).toContain('-C mode=deployment');
  });
});

describe('model locations that carry credentials', () => {
  it.each([
    ['https://user:secret@models.example.com/iris.tar.gz', 'user and password'],
    ['https://bucket.s3.amazonaws.com/iris?X-Amz-Signature=abc&X-Amz-Credential=k', 'X-Amz-Signature, X-Amz-Credential'],
    ['https://acct.blob.core.windows.net/m/iris?sig=abc', 'sig'],
  ])('%s is refused: it would be written into the cluster', (uri, what) => {
    const error = refusal(() => refuseCredentials(uri));
    expect(error.message).toContain(`carries a credential (${what})`);
    expect(error.message).not.toContain('secret');
    expect(error.hint).toContain('registry_secret');
  });

  it.each(['s3://bucket/iris', 'models:/iris@prod', 'pvc://models/iris', 'https://models.example.com/iris.tar.gz?version=3'])(
    '%s is fine',
    (uri) => {
      expect(() => refuseCredentials(uri)).not.toThrow();
    },
  );
});
