import { MlDeployError, rolloutPhases, toMlDeployError, type BaseDeploymentClient, type Rollout } from '@mldeploy/core';
import { followRollout } from '../rollouts/follow-rollout.js';
import { describeChange, describeDecision } from './format-plan.js';
import type { Plan, PlannedChange, PlannedRollout, TargetOpener } from './plan-spec.js';

/** Options of {@link applyPlan}. */
export interface ApplyOptions {
  /** Progress for people: each change as it is done, each rollout decision as it comes. */
  readonly log?: (line: string) => void;
  /** How often a rollout is polled (default 2 s). */
  readonly pollIntervalMs?: number;
}

/** What an apply did on one target. */
interface AppliedTarget {
  readonly target: string;
  readonly done: readonly PlannedChange[];
}

/** What an apply did: per target, in the file's order; and the rollouts it ran. */
export interface ApplyResult {
  readonly file: string;
  readonly targets: readonly AppliedTarget[];
  readonly rollouts: readonly Rollout[];
}

const bake = (seconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/**
 * A rollout mldeploy runs itself on a target that has endpoints but gives mldeploy no metrics
 * (SageMaker: its production variants' weights): each phase's weight set through
 * `updateEndpoint`, held for its bake, then the next; the target's own guardrails watch the
 * traffic meanwhile. A step that fails puts all traffic back where it was, then fails the apply.
 */
async function stepTraffic(
  client: BaseDeploymentClient,
  endpoint: string,
  current: Readonly<Record<string, number>>,
  planned: PlannedRollout,
  log: (line: string) => void,
): Promise<void> {
  const from = Object.entries(current).find(([, weight]) => weight === 100)?.[0];
  if (from === undefined) {
    throw new MlDeployError('INVALID_STATE', `Endpoint ${endpoint} splits its traffic; a rollout starts from one deployment at 100`, {
      target: client.target,
    });
  }
  for (const phase of rolloutPhases(planned.policy)) {
    const traffic = phase.weight === 100 ? { [planned.to]: 100 } : { [from]: 100 - phase.weight, [planned.to]: phase.weight };
    try {
      await client.updateEndpoint(endpoint, { traffic });
    } catch (error) {
      const reverted = await client.updateEndpoint(endpoint, { traffic: { [from]: 100 } }).then(
        () => `all traffic is back on ${from}`,
        (revert: unknown) => `putting all traffic back on ${from} failed too (${(revert as Error).message}): check the endpoint`,
      );
      log(`${client.targetUri}: step to ${phase.weight} % failed; ${reverted}`);
      throw error;
    }
    log(
      `${client.targetUri}: endpoint ${endpoint}: ${planned.to} has ${phase.weight} %${phase.bakeSeconds > 0 ? `, for ${phase.bakeSeconds} s` : ''} (stepped by mldeploy)`,
    );
    await bake(phase.bakeSeconds);
  }
}

/** Runs a rollout to its end, logging its decisions as they come; anything but `succeeded` fails. */
async function runRollout(
  client: BaseDeploymentClient,
  endpoint: string,
  planned: PlannedRollout,
  log: (line: string) => void,
  pollIntervalMs: number,
): Promise<Rollout> {
  const started = await client.startRollout({ endpoint, to: planned.to, policy: planned.policy });
  log(`${client.targetUri}: started rollout ${started.id} of endpoint ${endpoint} to ${planned.to} (${planned.policy.strategy})`);
  const rollout = await followRollout(
    client,
    started.id,
    (decision, current) => log(`${client.targetUri}: ${describeDecision(current, decision)}`),
    {
      pollIntervalMs,
    },
  );
  log(`${client.targetUri}: rollout ${rollout.id} is ${rollout.state}`);
  if (rollout.state !== 'succeeded') {
    const last = rollout.decisions.at(-1);
    throw new MlDeployError(
      'INVALID_STATE',
      `The rollout ${rollout.id} of endpoint ${endpoint} to ${planned.to} ended ${rollout.state}${last === undefined ? '' : `: ${last.reason}`}`,
      { target: client.target, details: { rollout } },
    );
  }
  return rollout;
}

/** Makes one change through the client; a rollout when the plan has one. */
async function makeChange(
  client: BaseDeploymentClient,
  change: PlannedChange,
  log: (line: string) => void,
  pollIntervalMs: number,
): Promise<Rollout | undefined> {
  if (change.action === 'delete') {
    if (change.kind === 'deployment') await client.deleteDeployment(change.name);
    else await client.deleteEndpoint(change.name);
  } else if (change.kind === 'deployment') {
    if (change.action === 'create') {
      await client.createDeployment(change.name, change.model_uri, { flavor: change.flavor, config: change.config });
    } else {
      await client.updateDeployment(change.name, { modelUri: change.model_uri, flavor: change.flavor, config: change.config });
    }
  } else if (change.action === 'create') {
    await client.createEndpoint(change.name, { ...change.config, traffic: change.traffic });
  } else if (change.rollout === undefined) {
    await client.updateEndpoint(change.name, { ...change.config, traffic: change.traffic });
  } else {
    // The other keys first, on the traffic as it is; then the rollout moves the traffic.
    if (change.fields.length > 0) await client.updateEndpoint(change.name, { ...change.config, traffic: change.current_traffic });
    if (change.rollout.runBy === 'mldeploy') {
      await stepTraffic(client, change.name, change.current_traffic, change.rollout, log);
      return undefined;
    }
    return runRollout(client, change.name, change.rollout, log, pollIntervalMs);
  }
  return undefined;
}

/**
 * Applies a plan target by target, in the file's order, each target's changes in the plan's
 * order (deployments, then endpoints, then deletions: endpoints before the deployments they
 * route to). The first failure stops the apply there.
 *
 * @throws MlDeployError with the failure's code, saying what was done and what was not
 * (`details.done`, `details.not_done`).
 */
export async function applyPlan(plan: Plan, open: TargetOpener, options: ApplyOptions = {}): Promise<ApplyResult> {
  const log = options.log ?? (() => undefined);
  const pollIntervalMs = options.pollIntervalMs ?? 2000;
  const applied: { target: string; done: PlannedChange[] }[] = [];
  const rollouts: Rollout[] = [];
  for (const [t, target] of plan.targets.entries()) {
    const done: PlannedChange[] = [];
    applied.push({ target: target.target, done });
    if (target.changes.length === 0) continue;
    const { client } = await open(target.target);
    for (const [c, change] of target.changes.entries()) {
      try {
        const rollout = await makeChange(client, change, log, pollIntervalMs);
        if (rollout !== undefined) rollouts.push(rollout);
      } catch (error) {
        throw stopped(plan, applied, t, c, error);
      }
      done.push(change);
      log(`${target.target}: ${describeChange(change)}: done`);
    }
  }
  return { file: plan.file, targets: applied, rollouts };
}

/** The error of an apply that stopped at change `c` of target `t`: the failure, what was done, what was not. */
function stopped(
  plan: Plan,
  applied: readonly { target: string; done: readonly PlannedChange[] }[],
  t: number,
  c: number,
  error: unknown,
): MlDeployError {
  const typed = toMlDeployError(error);
  const target = plan.targets[t]!;
  const done = applied.flatMap((a) => a.done.map((change) => `${a.target}: ${describeChange(change)}`));
  const notDone = [
    ...target.changes.slice(c).map((change) => `${target.target}: ${describeChange(change)}`),
    ...plan.targets.slice(t + 1).flatMap((later) => later.changes.map((change) => `${later.target}: ${describeChange(change)}`)),
  ];
  return new MlDeployError(
    typed.code,
    `Apply stopped at ${target.target}, on "${describeChange(target.changes[c]!)}": ${typed.message}. ` +
      `Done: ${done.length === 0 ? 'nothing' : done.join('; ')}. Not done: ${notDone.join('; ')}.`,
    {
      target: typed.target,
      hint: typed.hint ?? 'Fix the cause and run apply again: it picks up from what the targets have now.',
      details: { ...typed.details, done, not_done: notDone },
      cause: error,
    },
  );
}
