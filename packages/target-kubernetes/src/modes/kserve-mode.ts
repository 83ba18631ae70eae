import { MlDeployError, type Deployment } from '@mldeploy/core';
import type { KubeApi } from '../kube/kube-api.js';
import {
  INFERENCE_SERVICES,
  KSERVE_GROUP,
  KSERVE_VERSION,
  inferenceService,
  type InferenceService,
  type InferenceServiceStatus,
} from '../manifests/inference-service.js';
import { ANNOTATIONS, MANAGED_BY, onlyRecorded, readRecordedConfig, withoutRecorded } from '../manifests/labels.js';
import type { ServingPlan } from '../manifests/serving-deployment.js';
import { waitUntil } from './wait-until.js';

const RESOURCE = `${INFERENCE_SERVICES}.${KSERVE_GROUP}`;
type Progress = (line: string) => void;

/** Where an InferenceService stands, read from the status KServe's controller writes. */
export type ServiceState =
  | { readonly state: 'ready'; readonly url: string }
  | { readonly state: 'progressing'; readonly waitingFor: string }
  | { readonly state: 'failed'; readonly reason: string; readonly message: string };

/**
 * The state of an InferenceService: ready when KServe has seen the latest spec, its `Ready`
 * condition is True, it has a URL, and the newest predictor revision is ready; failed when KServe
 * says `Ready` is False for the latest spec with a reason (a revision that failed, a canary KServe
 * reports failed: the previous revision keeps its traffic, by KServe's rules).
 */
export function serviceState(service: InferenceService): ServiceState {
  const status: InferenceServiceStatus = service.status ?? {};
  if ((status.observedGeneration ?? 0) < (service.metadata.generation ?? 0))
    return { state: 'progressing', waitingFor: 'KServe to see the change' };
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  const predictor = status.components?.predictor;
  const failedRevision =
    predictor?.latestCreatedRevision !== undefined && predictor.latestReadyRevision !== predictor.latestCreatedRevision
      ? status.conditions?.find((c) => c.status === 'False' && c.reason !== undefined && c.type !== 'Ready')
      : undefined;
  // v0.20's spec.canary[]: the canary's own status says whether its model loaded.
  const canaryFailure = status.canaryStatuses?.map((c) => c.modelStatus?.lastFailureInfo).find((info) => info?.reason !== undefined);
  if (canaryFailure !== undefined)
    return { state: 'failed', reason: canaryFailure.reason!, message: canaryFailure.message ?? canaryFailure.reason! };
  if (ready?.status === 'False' && ready.reason !== undefined) {
    return { state: 'failed', reason: ready.reason, message: ready.message ?? ready.reason };
  }
  if (failedRevision !== undefined && (failedRevision.reason?.includes('Fail') ?? false)) {
    return { state: 'failed', reason: failedRevision.reason!, message: failedRevision.message ?? failedRevision.reason! };
  }
  if (ready?.status !== 'True') return { state: 'progressing', waitingFor: ready?.message ?? 'the Ready condition' };
  if (predictor?.latestCreatedRevision !== undefined && predictor.latestReadyRevision !== predictor.latestCreatedRevision) {
    return { state: 'progressing', waitingFor: `revision ${predictor.latestCreatedRevision} to be ready` };
  }
  const canaries = service.spec.canary ?? [];
  if (canaries.length > 0 && (status.canaryStatuses ?? []).filter((c) => c.ready).length < canaries.length) {
    return { state: 'progressing', waitingFor: 'the canary to be ready' };
  }
  if (status.url === undefined) return { state: 'progressing', waitingFor: 'a URL' };
  return { state: 'ready', url: status.url };
}

/**
 * `kserve` mode: one InferenceService per deployment. Updates may be canaries
 * (`canary_traffic_percent`); promoting one is an update without it, rolling it back sets it to 0,
 * as KServe documents. `get` shows the traffic and revisions KServe reports.
 */
export class KServeMode {
  constructor(private readonly api: KubeApi) {}

  private get path(): { group: string; version: string; namespace: string; plural: string } {
    return { group: KSERVE_GROUP, version: KSERVE_VERSION, namespace: this.api.namespace, plural: INFERENCE_SERVICES };
  }

  async find(name: string): Promise<InferenceService | undefined> {
    const found = (await this.api.find({ verb: 'get', resource: RESOURCE, name }, () =>
      this.api.custom.getNamespacedCustomObject({ ...this.path, name }),
    )) as InferenceService | undefined;
    const managed = found?.metadata.labels?.['app.kubernetes.io/managed-by'] === MANAGED_BY['app.kubernetes.io/managed-by'];
    // One being deleted (KServe's finalizer still at work) is gone already for the user.
    return managed && found?.metadata.deletionTimestamp === undefined ? found : undefined;
  }

  async create(plan: ServingPlan, progress: Progress): Promise<Deployment> {
    const body = inferenceService(plan);
    await this.api.call({ verb: 'create', resource: RESOURCE, name: plan.name }, () =>
      this.api.custom.createNamespacedCustomObject({ ...this.path, body }).catch((error: unknown) => {
        throw kserveMissing(error) ?? error;
      }),
    );
    try {
      return this.view(await this.waitUntilReady(plan.name, plan.config.timeout, progress));
    } catch (error) {
      // Created by this call (a name taken already fails the create above): the name is free for the next try.
      await this.delete(plan.name).catch(() => undefined);
      throw error;
    }
  }

  /** Applies the new spec (a canary when `canary_traffic_percent` is set) and waits for KServe to report it ready. */
  async update(plan: ServingPlan, current: InferenceService, progress: Progress): Promise<Deployment> {
    const canary = plan.config.canary_traffic_percent;
    const built = inferenceService(plan, { canaryTrafficPercent: canary, stable: current.spec.predictor });
    // Only what mldeploy owns changes (the spec, its labels and annotations); KServe's finalizers and other tools' metadata stay.
    const body: InferenceService = structuredClone(current);
    delete body.status;
    body.spec = built.spec;
    // A canary keeps the record of what serves now, for a rollback to bring back (see rollback).
    const stable =
      canary === undefined
        ? undefined
        : (current.metadata.annotations?.[ANNOTATIONS.stable] ?? JSON.stringify(onlyRecorded(current.metadata.annotations)));
    const annotations = {
      ...withoutRecorded(body.metadata.annotations),
      ...built.metadata.annotations,
      ...(stable === undefined ? {} : { [ANNOTATIONS.stable]: stable }),
    };
    body.metadata = { ...body.metadata, labels: { ...body.metadata.labels, ...built.metadata.labels }, annotations };
    await this.api.call({ verb: 'update', resource: RESOURCE, name: plan.name }, () =>
      this.api.custom.replaceNamespacedCustomObject({ ...this.path, name: plan.name, body }),
    );
    return this.view(await this.waitUntilReady(plan.name, plan.config.timeout, progress));
  }

  /**
   * The revisions KServe reports: the previous rolled-out one, the rolled-out one, and a canary
   * (the newest, when it is not rolled out yet), with their share of traffic.
   */
  revisions(service: InferenceService): Record<string, unknown>[] {
    const predictor = service.status?.components?.predictor ?? {};
    const traffic = predictor.traffic ?? [];
    const names = [predictor.previousRolledoutRevision, predictor.latestRolledoutRevision, predictor.latestCreatedRevision].filter(
      (revision, index, all): revision is string => revision !== undefined && all.indexOf(revision) === index,
    );
    return names.map((revision) => ({
      revision,
      current: traffic.some((t) => t.revisionName === revision && (t.percent ?? 0) > 0),
      traffic_percent: traffic.filter((t) => t.revisionName === revision).reduce((sum, t) => sum + (t.percent ?? 0), 0),
      ready: revision === predictor.latestReadyRevision || revision !== predictor.latestCreatedRevision,
    }));
  }

  /**
   * Sends all traffic back to the last rolled-out revision: `canaryTrafficPercent: 0`, KServe's
   * own rollback of a canary. KServe keeps no earlier revision to return to once one is promoted.
   */
  async rollback(
    current: InferenceService,
    toRevision: number | undefined,
    timeoutSeconds: number,
    progress: Progress,
  ): Promise<Deployment> {
    const name = current.metadata.name;
    if (toRevision !== undefined) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', 'KServe rolls back only to the last rolled-out revision: omit --to-revision', {
        target: 'kubernetes',
      });
    }
    const body: InferenceService = structuredClone(current);
    delete body.status;
    // What the record says serves after the rollback: the stable model, as recorded when the canary began.
    const stable = current.metadata.annotations?.[ANNOTATIONS.stable];
    if (stable !== undefined) body.metadata.annotations = { ...withoutRecorded(body.metadata.annotations), ...readStable(stable) };
    if (body.spec.canary !== undefined && body.spec.canary.length > 0) {
      // v0.20's form: without spec.canary, the stable predictor takes all traffic.
      progress(`Rolling ${name} back: all traffic to the stable predictor…`);
      delete body.spec.canary;
      await this.api.call({ verb: 'update', resource: RESOURCE, name }, () =>
        this.api.custom.replaceNamespacedCustomObject({ ...this.path, name, body }),
      );
      return this.view(await this.waitUntilReady(name, timeoutSeconds, progress));
    }
    if (current.spec.predictor.canaryTrafficPercent === undefined || current.spec.predictor.canaryTrafficPercent === 0) {
      throw new MlDeployError('INVALID_STATE', `InferenceService "${name}" has no canary to roll back`, {
        target: 'kubernetes',
        hint: 'KServe keeps no earlier revision once one is promoted: update to the earlier model instead.',
      });
    }
    progress(`Rolling ${name} back: all traffic to the last rolled-out revision…`);
    body.spec.predictor.canaryTrafficPercent = 0;
    await this.api.call({ verb: 'update', resource: RESOURCE, name }, () =>
      this.api.custom.replaceNamespacedCustomObject({ ...this.path, name, body }),
    );
    // Done once KServe routes everything to the rolled-out revision: a canary that failed stays the
    // newest revision, never ready, so "the newest revision is ready" would never come.
    return this.view(await this.waitUntilReady(name, timeoutSeconds, progress, allTrafficRolledOut));
  }

  /** Deletes the InferenceService when mldeploy manages it (by its label); false when there is none of its own. */
  async delete(name: string): Promise<boolean> {
    // Only mldeploy's own: an InferenceService of the same name that someone else made stays (find checks the label).
    if ((await this.find(name)) === undefined) return false;
    const deleted: unknown = await this.api.find({ verb: 'delete', resource: RESOURCE, name }, (): Promise<unknown> =>
      this.api.custom.deleteNamespacedCustomObject({ ...this.path, name }),
    );
    return deleted !== undefined;
  }

  /** The InferenceServices mldeploy manages; none when KServe is not installed. */
  async list(): Promise<Deployment[]> {
    try {
      const list = (await this.api.call({ verb: 'list', resource: RESOURCE }, () =>
        this.api.custom.listNamespacedCustomObject({ ...this.path, labelSelector: 'app.kubernetes.io/managed-by=mldeploy' }),
      )) as { items: InferenceService[] };
      return list.items.map((s) => this.view(s));
    } catch (error) {
      if (error instanceof MlDeployError && error.code === 'RESOURCE_DOES_NOT_EXIST') return [];
      throw error;
    }
  }

  view(service: InferenceService): Deployment {
    const state = serviceState(service);
    const annotations = service.metadata.annotations ?? {};
    const predictor = service.status?.components?.predictor;
    return {
      name: service.metadata.name,
      flavor: annotations[ANNOTATIONS.flavor] ?? null,
      model_uri: annotations[ANNOTATIONS.modelUri] ?? null,
      model_version: annotations[ANNOTATIONS.modelVersion] ?? null,
      config: readRecordedConfig(annotations[ANNOTATIONS.config]),
      mode: 'kserve',
      namespace: service.metadata.namespace ?? this.api.namespace,
      state: state.state,
      url: service.status?.url === undefined ? null : `${service.status.url}/invocations`,
      canary_traffic_percent: service.spec.canary?.[0]?.trafficPercent ?? service.spec.predictor.canaryTrafficPercent ?? null,
      traffic: traffic(service),
      revisions: {
        latest_created: predictor?.latestCreatedRevision ?? null,
        latest_ready: predictor?.latestReadyRevision ?? null,
        latest_rolled_out: predictor?.latestRolledoutRevision ?? null,
        previous_rolled_out: predictor?.previousRolledoutRevision ?? null,
      },
      ...(state.state === 'failed' ? { reason: state.reason, message: state.message } : {}),
    };
  }

  private async waitUntilReady(
    name: string,
    timeoutSeconds: number,
    progress: Progress,
    settled?: (service: InferenceService) => boolean,
  ): Promise<InferenceService> {
    return waitUntil<InferenceService>({
      what: `InferenceService "${name}" was not ready`,
      timeoutSeconds,
      progress,
      hint: 'Raise -C timeout=<seconds>, or check that KServe runs in the cluster (kubectl get pods -n kserve).',
      observe: async () => {
        const service = (await this.api.poll(
          { verb: 'get', resource: RESOURCE, name },
          () => this.api.custom.getNamespacedCustomObject({ ...this.path, name }),
          (error) => progress(`Waiting for ${name}: ${error.message}; trying again`),
        )) as InferenceService | undefined;
        if (service === undefined) return undefined;
        if (settled?.(service) === true) return { done: service };
        const state = serviceState(service);
        if (state.state === 'ready') return { done: service };
        if (state.state === 'failed') {
          throw new MlDeployError('INVALID_STATE', `InferenceService "${name}" failed: ${state.reason}: ${state.message}`, {
            target: 'kubernetes',
            details: { reason: state.reason },
            hint: `KServe keeps traffic on the last ready revision. See 'kubectl describe inferenceservice ${name} -n ${this.api.namespace}'.`,
          });
        }
        return { line: `Waiting for ${name}: ${state.waitingFor}`, waitingFor: state.waitingFor };
      },
    });
  }
}

/**
 * The error for a cluster without KServe's InferenceService CRD, when `error` is the API server's
 * 404 for an API group it does not serve ("404 page not found", not a Status about one object).
 */
function kserveMissing(error: unknown): MlDeployError | undefined {
  const { code, body } = (error ?? {}) as { code?: unknown; body?: unknown };
  const said = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  if (code === 404 && (said.includes('404 page not found') || said.includes('the server could not find the requested resource'))) {
    return new MlDeployError(
      'INVALID_STATE',
      'KServe is not installed in this cluster: it has no InferenceService resource (serving.kserve.io/v1beta1)',
      {
        target: 'kubernetes',
        hint: 'Install KServe in the cluster, or use -C mode=deployment, which needs nothing but Kubernetes.',
      },
    );
  }
  return undefined;
}

/** The traffic split KServe reports: per revision (`components.predictor.traffic`), or stable and canaries (v0.20's `canaryStatuses`). */
function traffic(service: InferenceService): Record<string, unknown>[] {
  const canaries = service.status?.canaryStatuses ?? [];
  if (canaries.length > 0) {
    const toCanaries = canaries.reduce((sum, c) => sum + c.trafficPercent, 0);
    return [
      { revision: 'stable', percent: 100 - toCanaries, latest: false },
      ...canaries.map((c) => ({ revision: c.name, percent: c.trafficPercent, latest: true, ready: c.ready })),
    ];
  }
  return (service.status?.components?.predictor?.traffic ?? []).map((t) => ({
    revision: t.revisionName ?? null,
    percent: t.percent ?? 0,
    ...(t.tag === undefined ? {} : { tag: t.tag }),
    latest: t.latestRevision ?? false,
  }));
}

function readStable(text: string): Record<string, string> {
  const value = readRecordedConfig(text);
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** Whether KServe has seen the latest spec and sends all traffic to the last rolled-out revision. */
function allTrafficRolledOut(service: InferenceService): boolean {
  const status = service.status;
  const rolledOut = status?.components?.predictor?.latestRolledoutRevision;
  const serving = (status?.components?.predictor?.traffic ?? []).filter((t) => (t.percent ?? 0) > 0);
  return (
    (status?.observedGeneration ?? 0) >= (service.metadata.generation ?? 0) &&
    rolledOut !== undefined &&
    serving.length > 0 &&
    serving.every((t) => t.revisionName === rolledOut)
  );
}
