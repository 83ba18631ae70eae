import type { V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { MlDeployError, type Deployment } from '@mldeploy/core';
import { parseKubernetesConfig } from '../config/kubernetes-config.js';
import type { KubeApi } from '../kube/kube-api.js';
import { ANNOTATIONS, DEPLOYMENT_LABEL, MANAGED_BY, onlyRecorded, readRecordedConfig, withoutRecorded } from '../manifests/labels.js';
import { randomBytes } from 'node:crypto';
import {
  TOKEN_KEY,
  servingDeployment,
  servingService,
  tokenSecret,
  tokenSecretName,
  type ServingPlan,
} from '../manifests/serving-deployment.js';
import { rolloutState, type RolloutState } from './rollout-status.js';
import { waitUntil } from './wait-until.js';

const DEPLOYMENTS = 'deployments.apps';
const SERVICES = 'services';
const SECRETS = 'secrets';
/** The annotation the Deployment controller puts on each ReplicaSet: its revision. */
const REVISION = 'deployment.kubernetes.io/revision';

/** Where a rollout's progress goes (a terminal's stderr, or nowhere). */
type Progress = (line: string) => void;

/**
 * `deployment` mode: an `apps/v1` Deployment and a Service per deployment, running mldeploy's own
 * serving runtime. Revisions are the Deployment's ReplicaSets; an update that fails to roll out is
 * undone (the previous template applied again), and the old ReplicaSet never stops serving
 * meanwhile (`maxUnavailable: 0`).
 */
export class DeploymentMode {
  constructor(private readonly api: KubeApi) {}

  async find(name: string): Promise<V1Deployment | undefined> {
    const found = await this.api.find({ verb: 'get', resource: DEPLOYMENTS, name }, () =>
      this.api.apps.readNamespacedDeployment({ name, namespace: this.api.namespace }),
    );
    // One being deleted is gone already for the user: delete has returned, and the name is free once it is.
    const managed = found?.metadata?.labels?.['app.kubernetes.io/managed-by'] === MANAGED_BY['app.kubernetes.io/managed-by'];
    return managed && found?.metadata?.deletionTimestamp === undefined ? found : undefined;
  }

  /**
   * Creates the token Secret, the Deployment and its Service, and waits for every replica. A create
   * that fails removes what it made, and only that (an object of the same name that mldeploy does
   * not manage is left alone: its create fails with RESOURCE_ALREADY_EXISTS).
   */
  async create(plan: ServingPlan, progress: Progress): Promise<Deployment> {
    const namespace = this.api.namespace;
    const made: (() => Promise<unknown>)[] = [];
    try {
      // A Secret the user names holds a token they chose (shared by deployments, known to their callers); else one is made.
      if (plan.config.token_secret === undefined) {
        const secret = tokenSecret(plan, randomBytes(32).toString('base64url'));
        const secretName = secret.metadata!.name!;
        await this.api.call({ verb: 'create', resource: SECRETS, name: secretName }, () =>
          this.api.core.createNamespacedSecret({ namespace, body: secret }),
        );
        made.push(() => this.api.core.deleteNamespacedSecret({ name: secretName, namespace }));
      }
      await this.api.call({ verb: 'create', resource: DEPLOYMENTS, name: plan.name }, () =>
        this.api.apps.createNamespacedDeployment({ namespace, body: servingDeployment(plan) }),
      );
      made.push(() => this.api.apps.deleteNamespacedDeployment({ name: plan.name, namespace, propagationPolicy: 'Background' }));
      await this.api.call({ verb: 'create', resource: SERVICES, name: plan.name }, () =>
        this.api.core.createNamespacedService({ namespace, body: servingService(plan) }),
      );
      made.push(() => this.api.core.deleteNamespacedService({ name: plan.name, namespace }));
      return this.view(await this.waitForRollout(plan.name, plan.config.timeout, progress));
    } catch (error) {
      // Nothing half-made stays behind: the name is free for the next try.
      for (const undo of made.reverse()) await undo().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Changes the Deployment's spec to the plan's and waits for the rollout; undoes it when it
   * fails, naming why. Only what mldeploy owns changes: other labels, annotations and fields
   * (another tool's, the API server's) stay as they are.
   */
  async update(plan: ServingPlan, current: V1Deployment, progress: Progress): Promise<Deployment> {
    const namespace = this.api.namespace;
    const built = servingDeployment(plan);
    const next = structuredClone(current);
    delete next.status;
    next.metadata = {
      ...next.metadata,
      labels: { ...next.metadata?.labels, ...built.metadata?.labels },
      annotations: { ...withoutRecorded(next.metadata?.annotations), ...built.metadata?.annotations },
    };
    next.spec = {
      ...next.spec!,
      replicas: built.spec!.replicas,
      strategy: built.spec!.strategy,
      progressDeadlineSeconds: built.spec!.progressDeadlineSeconds,
      template: built.spec!.template,
    };
    // Its resourceVersion is the one read: a change made meanwhile makes this a RESOURCE_CONFLICT, not a silent overwrite.
    const replaced = await this.api.call({ verb: 'update', resource: DEPLOYMENTS, name: plan.name }, () =>
      this.api.apps.replaceNamespacedDeployment({ name: plan.name, namespace, body: next }),
    );
    try {
      return this.view(await this.waitForRollout(plan.name, plan.config.timeout, progress));
    } catch (error) {
      progress(`Rolling back ${plan.name}: the previous revision goes on serving.`);
      const undone = await this.restore(plan.name, current, replaced.metadata?.generation).catch((failure: unknown) => failure as Error);
      if (undone instanceof Error && error instanceof MlDeployError) {
        throw new MlDeployError(error.code, `${error.message}; rolling back failed too: ${undone.message}`, {
          target: 'kubernetes',
          cause: error,
          hint: error.hint,
        });
      }
      throw error;
    }
  }

  /**
   * Applies the previous spec's template, replicas and recorded annotations again (`kubectl
   * rollout undo`), unless someone else changed the spec since this update (its generation moved on).
   */
  private async restore(name: string, previous: V1Deployment, ourGeneration: number | undefined): Promise<void> {
    const namespace = this.api.namespace;
    const latest = await this.api.call({ verb: 'get', resource: DEPLOYMENTS, name }, () =>
      this.api.apps.readNamespacedDeployment({ name, namespace }),
    );
    if (ourGeneration !== undefined && latest.metadata?.generation !== ourGeneration) {
      throw new MlDeployError(
        'RESOURCE_CONFLICT',
        `Deployment "${name}" was changed by someone else during the update; it is left as they made it`,
        {
          target: 'kubernetes',
        },
      );
    }
    delete latest.status;
    latest.spec = {
      ...latest.spec!,
      template: previous.spec!.template,
      replicas: previous.spec?.replicas,
      progressDeadlineSeconds: previous.spec?.progressDeadlineSeconds,
    };
    latest.metadata = {
      ...latest.metadata,
      annotations: {
        ...withoutRecorded(latest.metadata?.annotations),
        ...onlyRecorded(previous.metadata?.annotations),
      },
    };
    await this.api.call({ verb: 'update', resource: DEPLOYMENTS, name }, () =>
      this.api.apps.replaceNamespacedDeployment({ name, namespace, body: latest }),
    );
  }

  /**
   * Deletes the Deployment (its ReplicaSets and pods go with it), the Service and the token Secret,
   * each only when mldeploy manages it (by its label); false when there was none of them.
   */
  async delete(name: string): Promise<boolean> {
    const namespace = this.api.namespace;
    const managed = (object: { metadata?: { labels?: Record<string, string> } } | undefined): boolean =>
      object?.metadata?.labels?.[DEPLOYMENT_LABEL] === name && object.metadata.labels['app.kubernetes.io/managed-by'] === 'mldeploy';
    let deleted = false;
    if ((await this.find(name)) !== undefined) {
      deleted =
        (await this.api.find({ verb: 'delete', resource: DEPLOYMENTS, name }, () =>
          this.api.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: 'Background' }),
        )) !== undefined;
    }
    const service = await this.api.find({ verb: 'get', resource: SERVICES, name }, () =>
      this.api.core.readNamespacedService({ name, namespace }),
    );
    if (managed(service)) {
      await this.api.find({ verb: 'delete', resource: SERVICES, name }, () => this.api.core.deleteNamespacedService({ name, namespace }));
      deleted = true;
    }
    const secretName = tokenSecretName(name);
    const secret = await this.api.find({ verb: 'get', resource: SECRETS, name: secretName }, () =>
      this.api.core.readNamespacedSecret({ name: secretName, namespace }),
    );
    if (managed(secret)) {
      await this.api.find({ verb: 'delete', resource: SECRETS, name: secretName }, () =>
        this.api.core.deleteNamespacedSecret({ name: secretName, namespace }),
      );
      deleted = true;
    }
    return deleted;
  }

  /** The token the deployment's pods require, from the Secret its pods read it from. */
  async token(deployment: V1Deployment): Promise<string> {
    const env = deployment.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'MLDEPLOY_SERVER_TOKEN');
    const ref = env?.valueFrom?.secretKeyRef;
    const name = deployment.metadata?.name ?? '';
    if (ref?.name === undefined) {
      throw new MlDeployError('INVALID_STATE', `Deployment "${name}" has no serving token: its pods cannot serve beyond loopback`, {
        target: 'kubernetes',
        hint: 'Update it with mldeploy (which sets the token), or delete and create it again.',
      });
    }
    const key = ref.key ?? TOKEN_KEY;
    const secret = await this.api.call({ verb: 'get', resource: SECRETS, name: ref.name }, () =>
      this.api.core.readNamespacedSecret({ name: ref.name!, namespace: this.api.namespace }),
    );
    const value = secret.data?.[key];
    if (value === undefined) {
      throw new MlDeployError('INVALID_STATE', `Secret "${ref.name}" holds no key "${key}"`, {
        target: 'kubernetes',
        hint: `Put the token under "${TOKEN_KEY}" in the Secret.`,
      });
    }
    return Buffer.from(value, 'base64').toString('utf8');
  }

  async list(): Promise<Deployment[]> {
    const list = await this.api.call({ verb: 'list', resource: DEPLOYMENTS }, () =>
      this.api.apps.listNamespacedDeployment({ namespace: this.api.namespace, labelSelector: 'app.kubernetes.io/managed-by=mldeploy' }),
    );
    return list.items.map((d) => this.view(d));
  }

  /** The Deployment as mldeploy shows it: what was deployed (from its annotations) and its live state. */
  view(deployment: V1Deployment, state: RolloutState = rolloutState(deployment)): Deployment {
    const annotations = deployment.metadata?.annotations ?? {};
    const name = deployment.metadata?.name ?? '';
    return {
      name,
      flavor: annotations[ANNOTATIONS.flavor] ?? null,
      model_uri: annotations[ANNOTATIONS.modelUri] ?? null,
      model_version: annotations[ANNOTATIONS.modelVersion] ?? null,
      config: readRecordedConfig(annotations[ANNOTATIONS.config]),
      mode: 'deployment',
      namespace: deployment.metadata?.namespace ?? this.api.namespace,
      state: state.state,
      replicas: state.desired,
      ready_replicas: state.ready,
      revision: Number(annotations[REVISION] ?? 0) || null,
      url: `http://${name}.${deployment.metadata?.namespace ?? this.api.namespace}.svc/invocations`,
      ...(state.state === 'failed' ? { reason: state.reason, message: state.message } : {}),
    };
  }

  /** The Deployment's revisions (its ReplicaSets), oldest first; `current` is the one it rolls out. */
  async revisions(name: string): Promise<Record<string, unknown>[]> {
    const sets = await this.replicaSets(name);
    return sets.map((set, index) => {
      const annotations = set.spec?.template?.metadata?.annotations ?? {};
      return {
        revision: Number(set.metadata?.annotations?.[REVISION] ?? 0),
        current: index === sets.length - 1,
        model_uri: annotations[ANNOTATIONS.modelUri] ?? null,
        flavor: annotations[ANNOTATIONS.flavor] ?? null,
        config: readRecordedConfig(annotations[ANNOTATIONS.config]),
        created_at: set.metadata?.creationTimestamp?.toISOString() ?? null,
        replicas: set.status?.replicas ?? 0,
        ready_replicas: set.status?.readyReplicas ?? 0,
      };
    });
  }

  /**
   * Rolls an earlier revision's pod template out again (`kubectl rollout undo`): the one before
   * the current, or `toRevision`. Kubernetes gives it the next revision number.
   */
  async rollback(current: V1Deployment, toRevision: number | undefined, progress: Progress): Promise<Deployment> {
    const name = current.metadata!.name!;
    const sets = await this.replicaSets(name);
    const revisionOf = (set: V1ReplicaSet): number => Number(set.metadata?.annotations?.[REVISION] ?? 0);
    const target = toRevision === undefined ? sets.at(-2) : sets.find((set) => revisionOf(set) === toRevision);
    if (target === undefined) {
      throw new MlDeployError(
        'RESOURCE_DOES_NOT_EXIST',
        toRevision === undefined
          ? `Deployment "${name}" has no earlier revision to go back to`
          : `Deployment "${name}" has no revision ${toRevision} (kept: ${sets.map(revisionOf).join(', ')})`,
        { target: 'kubernetes', hint: `See its revisions with 'mldeploy history --name ${name}'.` },
      );
    }
    if (target === sets.at(-1)) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', `Deployment "${name}" serves revision ${revisionOf(target)} already`, {
        target: 'kubernetes',
      });
    }
    const template = structuredClone(target.spec!.template!);
    // The controller's own label of a ReplicaSet; a Deployment's template must not carry it.
    delete template.metadata?.labels?.['pod-template-hash'];
    // The revision's own record: its model, version, flavor and config (replicas and deadline with it), none left over from the current one.
    const { replicas, timeout } = parseKubernetesConfig(readRecordedConfig(template.metadata?.annotations?.[ANNOTATIONS.config]));
    const next = structuredClone(current);
    delete next.status;
    next.spec = { ...next.spec!, template, replicas, progressDeadlineSeconds: timeout };
    next.metadata = {
      ...next.metadata,
      annotations: { ...withoutRecorded(next.metadata?.annotations), ...onlyRecorded(template.metadata?.annotations) },
    };
    progress(`Rolling ${name} back to revision ${revisionOf(target)}…`);
    await this.api.call({ verb: 'update', resource: DEPLOYMENTS, name }, () =>
      this.api.apps.replaceNamespacedDeployment({ name, namespace: this.api.namespace, body: next }),
    );
    return this.view(await this.waitForRollout(name, timeout, progress));
  }

  /** The Deployment's newest ReplicaSet and its pods, which explain a rollout that waits or fails. */
  async newest(deployment: V1Deployment): Promise<{ set: V1ReplicaSet | undefined; pods: V1Pod[] }> {
    const set = (await this.replicaSets(deployment.metadata!.name!)).at(-1);
    const hash = set?.metadata?.labels?.['pod-template-hash'];
    if (hash === undefined) return { set, pods: [] };
    const pods = await this.api.call({ verb: 'list', resource: 'pods' }, () =>
      this.api.core.listNamespacedPod({
        namespace: this.api.namespace,
        labelSelector: `${DEPLOYMENT_LABEL}=${deployment.metadata!.name!},pod-template-hash=${hash}`,
      }),
    );
    return { set, pods: pods.items };
  }

  /** The Deployment's ReplicaSets, oldest revision first. */
  async replicaSets(name: string): Promise<V1ReplicaSet[]> {
    const list = await this.api.call({ verb: 'list', resource: 'replicasets.apps' }, () =>
      this.api.apps.listNamespacedReplicaSet({ namespace: this.api.namespace, labelSelector: `${DEPLOYMENT_LABEL}=${name}` }),
    );
    return list.items
      .filter((set) => set.metadata?.ownerReferences?.some((owner) => owner.kind === 'Deployment' && owner.name === name) ?? false)
      .sort((a, b) => Number(a.metadata?.annotations?.[REVISION] ?? 0) - Number(b.metadata?.annotations?.[REVISION] ?? 0));
  }

  /** Waits until the rollout is done; fails with the pods' reason when it fails or `timeoutSeconds` pass. */
  private async waitForRollout(name: string, timeoutSeconds: number, progress: Progress): Promise<V1Deployment> {
    const namespace = this.api.namespace;
    return waitUntil<V1Deployment>({
      what: `Deployment "${name}" did not roll out`,
      timeoutSeconds,
      progress,
      hint: "Raise -C timeout=<seconds> for a slow start, or see the pods' events with kubectl describe.",
      observe: async () => {
        const deployment = await this.api.poll(
          { verb: 'get', resource: DEPLOYMENTS, name },
          () => this.api.apps.readNamespacedDeployment({ name, namespace }),
          (error) => progress(`Waiting for ${name}: ${error.message}; trying again`),
        );
        if (deployment === undefined) return undefined;
        let state = rolloutState(deployment);
        if (state.state !== 'ready') {
          // What the pods say explains the wait; when the API server does not answer that, the wait goes on without it.
          const newest = await this.api.poll(
            { verb: 'list', resource: 'pods' },
            () => this.newest(deployment),
            () => undefined,
          );
          if (newest !== undefined) state = rolloutState(deployment, newest.pods, newest.set);
        }
        if (state.state === 'ready') return { done: deployment };
        if (state.state === 'failed') {
          throw new MlDeployError('INVALID_STATE', `Deployment "${name}" failed to roll out: ${state.reason}: ${state.message}`, {
            target: 'kubernetes',
            details: { reason: state.reason },
            hint: `See 'kubectl describe deployment ${name} -n ${namespace}' and its pods' events.`,
          });
        }
        return {
          line: `Waiting for ${name}: ${state.ready}/${state.desired} replica(s) ready; waiting for ${state.waitingFor}`,
          waitingFor: state.waitingFor,
        };
      },
    });
  }
}
