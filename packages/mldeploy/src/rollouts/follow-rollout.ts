import { MlDeployError, pollUntil, retry, type BaseDeploymentClient, type Rollout, type RolloutDecision } from '@mldeploy/core';

const DONE = new Set(['succeeded', 'rolled_back', 'aborted', 'failed']);

/**
 * Follows a rollout until it ends, calling `onDecision` once for each decision it records
 * (promote, roll back, pause…), and returns it ended. A rollout has no deadline of its own (its
 * phases bake as long as the policy says, and a paused one waits for a person): `timeoutMs`
 * bounds only this wait, not the rollout.
 *
 * @throws MlDeployError `DEADLINE_EXCEEDED` when `timeoutMs` passes first (the rollout goes on).
 */
export async function followRollout(
  client: BaseDeploymentClient,
  id: string,
  onDecision: (decision: RolloutDecision, rollout: Rollout) => void,
  options: { readonly timeoutMs?: number; readonly pollIntervalMs?: number; readonly signal?: AbortSignal | undefined } = {},
): Promise<Rollout> {
  const timeoutMs = options.timeoutMs ?? 24 * 3600_000;
  let seen = 0;
  return pollUntil(
    async () => {
      // Stops following (not the rollout): the caller is going away.
      options.signal?.throwIfAborted();
      // A control plane restarting (which the rollout survives) is waited for, not reported as the rollout's failure.
      const rollout = await retry(() => client.getRollout(id), { retries: 8, baseDelayMs: 500, maxDelayMs: 5000 });
      for (const decision of rollout.decisions.slice(seen)) onDecision(decision, rollout);
      seen = rollout.decisions.length;
      return DONE.has(rollout.state) ? rollout : undefined;
    },
    {
      timeoutMs,
      minDelayMs: Math.min(250, options.pollIntervalMs ?? 1000),
      maxDelayMs: options.pollIntervalMs ?? 1000,
      onTimeout: () =>
        new MlDeployError('DEADLINE_EXCEEDED', `Stopped following rollout ${id}; it goes on`, {
          hint: `See where it is with 'mldeploy rollout status --id ${id}'.`,
        }),
    },
  );
}

/** The error of a rollout that ended without the candidate taking the traffic: its last decision says why. */
export function rolloutFailure(rollout: Rollout): MlDeployError | undefined {
  if (rollout.state === 'succeeded') return undefined;
  const last = rollout.decisions.at(-1);
  return new MlDeployError(
    'INVALID_STATE',
    `Rollout ${rollout.id} of ${rollout.endpoint} ${rollout.state.replace('_', ' ')}: ${last?.reason ?? 'no reason recorded'}; ${rollout.from} has all traffic again`,
    { hint: `Its decisions and their figures: mldeploy rollout status --id ${rollout.id}.` },
  );
}
