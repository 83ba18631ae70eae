import type { Command } from 'commander';
import { applyPlan } from '../../spec/apply-spec.js';
import { countChanges, formatPlan } from '../../spec/format-plan.js';
import { loadSpecFile } from '../../spec/load-spec.js';
import { planSpec, type Plan, type SpecTarget, type TargetOpener } from '../../spec/plan-spec.js';
import type { CommandContext } from '../command-context.js';

interface SpecOptions {
  readonly file: string;
  readonly prune?: boolean;
  readonly json?: boolean;
  readonly verbose?: boolean;
}

/** Each target of the file opened once, for the plan and the apply that follows it. */
function opener(ctx: CommandContext): TargetOpener {
  const opened = new Map<string, Promise<SpecTarget>>();
  return (targetUri) => {
    let target = opened.get(targetUri);
    if (target === undefined) {
      target = ctx.openTarget(targetUri);
      opened.set(targetUri, target);
    }
    return target;
  };
}

function withSpecOptions(command: Command): Command {
  return command
    .requiredOption('-f, --file <FILE>', 'the spec file (YAML, see docs/specs.md)')
    .option('--prune', 'also delete the deployments and endpoints the targets have that the file does not name')
    .option('--json', 'print machine-readable JSON')
    .option('--verbose', 'print stack traces on errors');
}

/** The plan as data, with its counts. */
function planData(plan: Plan): Record<string, unknown> {
  return { ...plan, summary: countChanges(plan.targets.flatMap((t) => t.changes)) };
}

/** Plans a file: loads it (exit 2 when invalid, nothing contacted), then reads every target. */
async function plan(ctx: CommandContext, options: SpecOptions, open: TargetOpener): Promise<Plan> {
  const { file, spec } = await loadSpecFile(options.file, ctx.io.cwd);
  return planSpec(file, spec, open, { prune: options.prune === true });
}

/** `plan` and `apply`: deployment as code, from a spec file (docs/specs.md). */
export function registerSpecCommands(program: Command, ctx: CommandContext): void {
  withSpecOptions(
    program.command('plan').description('Show what apply would change on each target of a spec file; changes nothing'),
  ).action(async (options: SpecOptions) => {
    const planned = await plan(ctx, options, opener(ctx));
    ctx.emit(options, planData(planned), () => formatPlan(planned));
  });

  withSpecOptions(
    program.command('apply').description('Make the targets of a spec file match it: creates, updates (and with --prune deletes)'),
  ).action(async (options: SpecOptions) => {
    const open = opener(ctx);
    const planned = await plan(ctx, options, open);
    const changes = planned.targets.flatMap((t) => t.changes);
    if (changes.length > 0 && options.json !== true) ctx.log(formatPlan(planned).trimEnd());
    const result = await applyPlan(planned, open, { log: (line) => ctx.log(line) });
    const counts = countChanges(result.targets.flatMap((t) => t.done));
    ctx.emit(options, { ...result, summary: counts }, () =>
      changes.length === 0
        ? 'No changes: the targets match the spec.\n'
        : `Applied: ${counts.create} created, ${counts.update} updated, ${counts.delete} deleted.\n`,
    );
  });
}
