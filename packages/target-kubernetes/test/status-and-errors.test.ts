import type { V1Deployment, V1DeploymentStatus, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { classifyKubeError } from '../src/kube/kube-errors.js';
import type { InferenceService } from '../src/manifests/inference-service.js';
import { serviceState } from '../src/modes/kserve-mode.js';
import { rolloutState } from '../src/modes/rollout-status.js';

const op = {
  verb: 'create',
  resource: 'deployments.apps',
  name: 'iris',
  namespace: 'ml',
  server: 'https://k8s.example:6443',
  context: 'prod',
};
const apiError = (code: number, status: Record<string, unknown>): unknown => ({
  code,
  body: JSON.stringify({ kind: 'Status', code, ...status }),
});

describe('Kubernetes API errors, classified where caught', () => {
  it.each([
    [
      404,
      { reason: 'NotFound', message: 'deployments.apps "iris" not found' },
      'RESOURCE_DOES_NOT_EXIST',
      'Not found: create deployments.apps "iris" in namespace "ml"',
    ],
    [409, { reason: 'AlreadyExists', message: 'exists' }, 'RESOURCE_ALREADY_EXISTS', 'Already exists: create deployments.apps "iris"'],
    [
      409,
      { reason: 'Conflict', message: 'the object has been modified' },
      'RESOURCE_CONFLICT',
      'changed meanwhile (the object has been modified)',
    ],
    [401, { reason: 'Unauthorized' }, 'UNAUTHENTICATED', 'did not accept the credentials of context "prod"'],
    [429, { reason: 'TooManyRequests', message: 'slow down' }, 'REQUEST_LIMIT_EXCEEDED', 'throttling'],
    [500, { reason: 'InternalError', message: 'etcd timeout' }, 'TEMPORARILY_UNAVAILABLE', 'Kubernetes answered 500'],
  ])('%i %j → %s', (code, status, expected, text) => {
    const error = classifyKubeError(apiError(code, status), op);
    expect(error.code).toBe(expected);
    expect(error.message).toContain(text);
  });

  it('403 names the verb and the resource the role lacks, and points to the rules', () => {
    const error = classifyKubeError(
      apiError(403, {
        reason: 'Forbidden',
        message:
          'deployments.apps is forbidden: User "system:serviceaccount:ml:mldeploy" cannot create resource "deployments" in API group "apps" in the namespace "ml"',
      }),
      op,
    );
    expect(error.code).toBe('PERMISSION_DENIED');
    expect(error.message).toContain('the role lacks "create" on "deployments.apps"');
    expect(error.details).toMatchObject({ verb: 'create', resource: 'deployments.apps' });
    expect(error.hint).toContain('mldeploy help -t kubernetes');
  });

  it("a 403 that is not RBAC's (a quota, an admission webhook) keeps Kubernetes' own words instead of blaming the role", () => {
    const error = classifyKubeError(
      apiError(403, {
        reason: 'Forbidden',
        message: 'pods "iris-1" is forbidden: exceeded quota: compute, requested: cpu=2, limited: cpu=1',
      }),
      op,
    );
    expect(error.code).toBe('PERMISSION_DENIED');
    expect(error.message).toBe(
      'Kubernetes refused to create deployments.apps "iris" in namespace "ml": pods "iris-1" is forbidden: exceeded quota: compute, requested: cpu=2, limited: cpu=1',
    );
    expect(error.message).not.toContain('the role lacks');
  });

  it('a certificate the client does not trust is named as such, not as a cluster that is down', () => {
    const untrusted = Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    const error = classifyKubeError(new TypeError('fetch failed', { cause: untrusted }), op);
    expect(error.code).toBe('INVALID_STATE');
    expect(error.message).toBe(
      'Cannot talk to the Kubernetes API server https://k8s.example:6443 (context "prod") over TLS: SELF_SIGNED_CERT_IN_CHAIN',
    );
  });

  it('422 names every field Kubernetes refused', () => {
    const error = classifyKubeError(
      apiError(422, {
        reason: 'Invalid',
        details: {
          causes: [
            { field: 'spec.replicas', message: 'must be greater than or equal to 0' },
            { field: 'spec.template.spec.containers[0].image', message: 'Required value' },
          ],
        },
      }),
      op,
    );
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toBe(
      'Kubernetes refused the deployments.apps "iris": spec.replicas: must be greater than or equal to 0; spec.template.spec.containers[0].image: Required value',
    );
    expect(error.details).toMatchObject({ fields: ['spec.replicas', 'spec.template.spec.containers[0].image'] });
  });

  it('an API server that cannot be reached is named with its context, whatever wraps the socket error', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    for (const error of [refused, new TypeError('fetch failed', { cause: refused })]) {
      const classified = classifyKubeError(error, op);
      expect(classified.code).toBe('TEMPORARILY_UNAVAILABLE');
      expect(classified.message).toBe('Cannot reach the Kubernetes API server https://k8s.example:6443 (context "prod"): ECONNREFUSED');
    }
  });

  it('a body that is not a Status (a proxy in between) still gives the status and the text', () => {
    const error = classifyKubeError({ code: 502, body: '<html>bad gateway</html>' }, op);
    expect(error.code).toBe('TEMPORARILY_UNAVAILABLE');
    expect(error.message).toContain('<html>bad gateway</html>');
  });
});

describe('rollout state of a Deployment, read as kubectl rollout status reads it', () => {
  const deployment = (status: V1DeploymentStatus, generation = 2): V1Deployment => ({
    metadata: { generation },
    spec: { replicas: 2, selector: {}, template: {} },
    status: { observedGeneration: 2, ...status },
  });

  it('waits for the controller to see the change, then for updated and available replicas, then for old ones to go', () => {
    expect(rolloutState(deployment({}, 3))).toMatchObject({
      state: 'progressing',
      waitingFor: 'the Deployment controller to see the change',
    });
    expect(rolloutState(deployment({ updatedReplicas: 1, replicas: 3, availableReplicas: 2 }))).toMatchObject({
      state: 'progressing',
      waitingFor: '1 of 2 replica(s) updated',
    });
    expect(rolloutState(deployment({ updatedReplicas: 2, replicas: 3, availableReplicas: 2 }))).toMatchObject({
      state: 'progressing',
      waitingFor: '1 old replica(s) to be stopped',
    });
    expect(rolloutState(deployment({ updatedReplicas: 2, replicas: 2, availableReplicas: 1 }))).toMatchObject({
      state: 'progressing',
      waitingFor: '1 of 2 updated replica(s) available',
    });
    expect(rolloutState(deployment({ updatedReplicas: 2, replicas: 2, availableReplicas: 2, readyReplicas: 2 }))).toEqual({
      state: 'ready',
      ready: 2,
      desired: 2,
    });
  });

  it("fails on ProgressDeadlineExceeded or ReplicaFailure, with the pods' own reason when they give one", () => {
    const stuck = deployment({
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "iris-1" has timed out progressing.',
        },
      ],
    });
    const pods: V1Pod[] = [
      {
        metadata: { name: 'iris-1-abc' },
        status: {
          containerStatuses: [
            {
              name: 'model',
              ready: false,
              restartCount: 3,
              image: 'x',
              imageID: '',
              state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } },
            },
          ],
        },
      },
    ];
    expect(rolloutState(stuck, pods)).toMatchObject({
      state: 'failed',
      reason: 'CrashLoopBackOff',
      message: 'pod iris-1-abc: container model is CrashLoopBackOff: back-off 40s (ReplicaSet "iris-1" has timed out progressing.)',
    });
    const refused: V1ReplicaSet = {
      status: {
        replicas: 0,
        conditions: [
          { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "iris-1-" is forbidden: exceeded quota' },
        ],
      },
    };
    expect(rolloutState(deployment({ updatedReplicas: 0 }), [], refused)).toMatchObject({
      state: 'failed',
      reason: 'FailedCreate',
      message: 'pods "iris-1-" is forbidden: exceeded quota',
    });
  });
});

describe('state of an InferenceService, read from the status KServe writes', () => {
  const service = (status: InferenceService['status'], generation = 1): InferenceService => ({
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name: 'iris', generation },
    spec: { predictor: { model: { name: 'iris', modelFormat: { name: 'mlflow' }, storageUri: 's3://m' } } },
    ...(status === undefined ? {} : { status }),
  });

  it('is progressing until KServe saw the spec, Ready is True, the newest revision is ready and there is a URL', () => {
    expect(serviceState(service(undefined))).toMatchObject({ state: 'progressing', waitingFor: 'KServe to see the change' });
    expect(serviceState(service({ observedGeneration: 1, conditions: [{ type: 'Ready', status: 'Unknown' }] }))).toMatchObject({
      state: 'progressing',
    });
    expect(
      serviceState(
        service({
          observedGeneration: 1,
          url: 'http://iris',
          conditions: [{ type: 'Ready', status: 'True' }],
          components: { predictor: { latestCreatedRevision: 'r2', latestReadyRevision: 'r1' } },
        }),
      ),
    ).toMatchObject({ state: 'progressing', waitingFor: 'revision r2 to be ready' });
    expect(serviceState(service({ observedGeneration: 1, url: 'http://iris', conditions: [{ type: 'Ready', status: 'True' }] }))).toEqual({
      state: 'ready',
      url: 'http://iris',
    });
  });

  it('has failed when Ready is False with a reason', () => {
    expect(
      serviceState(
        service({ observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False', reason: 'RevisionFailed', message: 'boom' }] }),
      ),
    ).toEqual({
      state: 'failed',
      reason: 'RevisionFailed',
      message: 'boom',
    });
  });
});
