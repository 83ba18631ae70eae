import type { DeploymentConfig, Rollout, RolloutDecision, TrafficSplit } from '@mldeploy/core';
import { shownValue } from './compare-values.js';
import type { FieldChange, Plan, PlannedChange, TrafficMove } from './plan-spec.js';

/** `a 90, b 10` */
function trafficText(traffic: TrafficSplit): string {
  return Object.entries(traffic)
    .map(([deployment, weight]) => `${deployment} ${weight}`)
    .join(', ');
}

/** `a 90→50, b 10→50` */
function movesText(moves: readonly TrafficMove[]): string {
  return moves.map((m) => `${m.deployment} ${m.from}→${m.to}`).join(', ');
}

/** `model_uri /a → /b`, `config.replicas 1 → 2`, `config.timeout (none) → 30` */
function fieldsText(fields: readonly FieldChange[]): string {
  return fields.map((f) => `${f.field} ${shownValue(f.from)} → ${shownValue(f.to)}`).join(', ');
}

/** `replicas=2 timeout=30` */
function configText(config: DeploymentConfig | undefined): string {
  return Object.entries(config ?? {})
    .map(([key, value]) => `${key}=${shownValue(value)}`)
    .join(' ');
}

/** One line saying what a change does, for plans, progress and errors. */
export function describeChange(change: PlannedChange): string {
  const subject = `${change.kind} ${change.name}`;
  switch (change.action) {
    case 'delete':
      return `delete ${subject}`;
    case 'create': {
      const parts =
        change.kind === 'deployment'
          ? [`model_uri ${change.model_uri}`, ...(change.flavor === undefined ? [] : [`flavor ${change.flavor}`])]
          : [`traffic ${trafficText(change.traffic)}`];
      const config = configText(change.config);
      return `create ${subject}: ${[...parts, ...(config === '' ? [] : [`config ${config}`])].join(', ')}`;
    }
    case 'update':
      if (change.kind === 'deployment') return `update ${subject}: ${fieldsText(change.fields)}`;
      return `update ${subject}: ${[
        ...(change.moves.length === 0 ? [] : [`traffic ${movesText(change.moves)}`]),
        ...(change.fields.length === 0 ? [] : [fieldsText(change.fields)]),
      ].join(
        ', ',
      )}${change.rollout === undefined ? '' : ` (by a ${change.rollout.policy.strategy} rollout to ${change.rollout.to}${change.rollout.runBy === 'mldeploy' ? ', stepped by mldeploy' : ''})`}`;
  }
}

const SIGN = { create: '+', update: '~', delete: '-' } as const;

/** How many changes of each action a plan (or what was done) holds. */
export function countChanges(changes: readonly PlannedChange[]): { create: number; update: number; delete: number } {
  return {
    create: changes.filter((c) => c.action === 'create').length,
    update: changes.filter((c) => c.action === 'update').length,
    delete: changes.filter((c) => c.action === 'delete').length,
  };
}

/** The plan for people: changes grouped by target, then what could not be compared or is left alone. */
export function formatPlan(plan: Plan): string {
  const lines: string[] = [];
  for (const target of plan.targets) {
    lines.push(target.changes.length === 0 ? `Target ${target.target}: no changes` : `Target ${target.target}:`);
    for (const change of target.changes) lines.push(`  ${SIGN[change.action]} ${describeChange(change)}`);
    if (target.not_compared.length > 0) {
      lines.push(`  Not compared, as the target does not report them: ${target.not_compared.join(', ')}`);
    }
    if (target.unmanaged.length > 0) lines.push(`  Not in the spec, left alone (--prune deletes them): ${target.unmanaged.join(', ')}`);
  }
  const counts = countChanges(plan.targets.flatMap((t) => t.changes));
  lines.push(
    counts.create + counts.update + counts.delete === 0
      ? 'No changes: the targets match the spec.'
      : `Plan: ${counts.create} to create, ${counts.update} to update, ${counts.delete} to delete.`,
  );
  return `${lines.join('\n')}\n`;
}

/** A rollout's decision as it comes: `rollout r1 of endpoint ab: step 0 promote: …`. */
export function describeDecision(rollout: Rollout, decision: RolloutDecision): string {
  return `rollout ${rollout.id} of endpoint ${rollout.endpoint}: step ${decision.step} ${decision.action}: ${decision.reason}`;
}
