import type { V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';

/** Where a Deployment's rollout stands, read as `kubectl rollout status` reads it. */
export type RolloutState =
  | { readonly state: 'ready'; readonly ready: number; readonly desired: number }
  | { readonly state: 'progressing'; readonly ready: number; readonly desired: number; readonly waitingFor: string }
  | { readonly state: 'failed'; readonly ready: number; readonly desired: number; readonly reason: string; readonly message: string };

/**
 * The rollout state of a Deployment: ready once the controller has seen the latest spec and every
 * replica is updated and available with no old one left; failed when the controller reports
 * `ProgressDeadlineExceeded`. `pods` (those of the newest ReplicaSet) explain a wait or a
 * failure with their own conditions (unschedulable, not ready, image errors).
 */
export function rolloutState(deployment: V1Deployment, pods: readonly V1Pod[] = [], newest?: V1ReplicaSet): RolloutState {
  const desired = deployment.spec?.replicas ?? 1;
  const status = deployment.status ?? {};
  const ready = status.readyReplicas ?? 0;
  const generation = deployment.metadata?.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation)
    return { state: 'progressing', ready, desired, waitingFor: 'the Deployment controller to see the change' };
  // Pods the ReplicaSet cannot create (refused by validation, quota or admission) never come: fail now, with why.
  // Only the newest ReplicaSet's: an old one's (or a passing webhook timeout's, cleared on the next try) is not this rollout's.
  const refused = newest?.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  if (refused !== undefined)
    return {
      state: 'failed',
      ready,
      desired,
      reason: refused.reason ?? 'ReplicaFailure',
      message: refused.message ?? 'pods cannot be created',
    };
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    const why = podProblem(pods);
    return {
      state: 'failed',
      ready,
      desired,
      reason: why?.reason ?? 'ProgressDeadlineExceeded',
      message:
        why === undefined
          ? (progressing.message ?? 'the rollout made no progress')
          : `${why.message} (${progressing.message ?? 'ProgressDeadlineExceeded'})`,
    };
  }
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < desired)
    return { state: 'progressing', ready, desired, waitingFor: waiting(`${updated} of ${desired} replica(s) updated`, pods) };
  if (total > updated) return { state: 'progressing', ready, desired, waitingFor: `${total - updated} old replica(s) to be stopped` };
  if (available < updated)
    return { state: 'progressing', ready, desired, waitingFor: waiting(`${available} of ${updated} updated replica(s) available`, pods) };
  return { state: 'ready', ready, desired };
}

function waiting(what: string, pods: readonly V1Pod[]): string {
  const why = podProblem(pods);
  return why === undefined ? what : `${what}; ${why.message}`;
}

/** Why the pods are not ready, from the first one that says: a waiting container, an unschedulable pod, a failing probe. */
function podProblem(pods: readonly V1Pod[]): { reason: string; message: string } | undefined {
  for (const pod of pods) {
    const name = pod.metadata?.name ?? 'a pod';
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    for (const container of statuses) {
      const waitingState = container.state?.waiting;
      if (waitingState?.reason !== undefined && waitingState.reason !== 'PodInitializing' && waitingState.reason !== 'ContainerCreating') {
        return {
          reason: waitingState.reason,
          message: `pod ${name}: container ${container.name} is ${waitingState.reason}${waitingState.message === undefined ? '' : `: ${waitingState.message}`}`,
        };
      }
      const terminated = container.lastState?.terminated ?? container.state?.terminated;
      if (terminated !== undefined && (terminated.exitCode ?? 0) !== 0) {
        return {
          reason: terminated.reason ?? 'Error',
          message: `pod ${name}: container ${container.name} exited with code ${terminated.exitCode}${terminated.message === undefined ? '' : `: ${terminated.message}`}`,
        };
      }
    }
    for (const condition of pod.status?.conditions ?? []) {
      if (condition.status === 'False' && (condition.type === 'PodScheduled' || condition.type === 'Ready')) {
        const reason = condition.reason ?? `${condition.type}False`;
        return {
          reason,
          message: `pod ${name} is not ${condition.type === 'PodScheduled' ? 'scheduled' : 'ready'}: ${condition.message ?? reason}`,
        };
      }
    }
  }
  return undefined;
}
