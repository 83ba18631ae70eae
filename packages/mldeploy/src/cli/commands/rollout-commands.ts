import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { rolloutPolicySchema, type Rollout, type RolloutDecision, type RolloutPolicy } from '@mldeploy/core';
import { parse as parseYaml } from 'yaml';
import { followRollout, rolloutFailure } from '../../rollouts/follow-rollout.js';
import { withCommonOptions, type CommandContext, type CommonOptions } from '../command-context.js';
import { formatKeyValues, formatTable } from '../format-output.js';
import { UsageError } from '../usage-error.js';

/** Where a command takes a rollout policy from. */
interface PolicyOptions {
  readonly policy?: string | undefined;
  readonly policyFile?: string | undefined;
}

interface StartOptions extends CommonOptions, PolicyOptions {
  readonly endpoint: string;
  readonly to: string;
  readonly wait?: boolean;
}

interface IdOptions extends CommonOptions {
  readonly id: string;
}

/** The policy from `--policy` (JSON) or `--policy-file` (YAML or JSON), checked; a bad one is a usage error (exit 2). */
export async function readPolicy(options: PolicyOptions, cwd: string): Promise<RolloutPolicy> {
  if ((options.policy === undefined) === (options.policyFile === undefined)) {
    throw new UsageError("Give the rollout policy with exactly one of '--policy <JSON>' and '--policy-file <FILE>'.");
  }
  let raw: unknown;
  const source = options.policy === undefined ? options.policyFile! : "'--policy'";
  try {
    raw =
      options.policy === undefined ? parseYaml(await readFile(path.resolve(cwd, options.policyFile!), 'utf8')) : JSON.parse(options.policy);
  } catch (error) {
    throw new UsageError(`Cannot read the rollout policy from ${source}: ${(error as Error).message}`);
  }
  const parsed = rolloutPolicySchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length === 0 ? '' : `${i.path.join('.')}: `}${i.message}`);
    throw new UsageError(`Invalid rollout policy in ${source}: ${problems.join('; ')}`);
  }
  return parsed.data;
}

function describeDecision(decision: RolloutDecision): string {
  return `${decision.at} step ${decision.step}: ${decision.action}: ${decision.reason}`;
}

function describeRollout(rollout: Rollout): string {
  const { decisions, policy, ...rest } = rollout;
  return `${formatKeyValues({ ...rest, strategy: policy.strategy })}decisions:\n${decisions.map((d) => `  ${describeDecision(d)}`).join('\n')}\n`;
}

/** `rollout start|status|list|pause|resume|abort|promote`: metric-gated traffic shifting on an endpoint, for targets with the rollouts capability. */
export function registerRolloutCommands(program: Command, ctx: CommandContext): void {
  const rollout = program
    .command('rollout')
    .description("Move an endpoint's traffic to another deployment by a policy, gated on live metrics");

  withCommonOptions(rollout.command('start').description('Start a rollout: canary, linear, blue/green or shadow-then-canary'))
    .requiredOption('--endpoint <ENDPOINT>', 'the endpoint whose traffic moves (all of it on one deployment now)')
    .requiredOption('--to <DEPLOYMENT>', 'the candidate deployment')
    .option(
      '--policy <JSON>',
      'the policy, e.g. {"strategy": "canary", "steps": [{"weight": 10, "bakeSeconds": 300}], "gates": {"maxErrorRate": 0.01}}',
    )
    .option('--policy-file <FILE>', 'the policy in a YAML or JSON file')
    .option('--wait', 'follow it until it ends, printing each decision; exit 1 unless it succeeds')
    .action(async (options: StartOptions) => {
      const policy = await readPolicy(options, ctx.io.cwd);
      const client = await ctx.client(options);
      const started = await client.startRollout({ endpoint: options.endpoint, to: options.to, policy });
      if (options.wait !== true) {
        ctx.emit(options, started, () => `Rollout ${started.id} started: ${options.endpoint} from ${started.from} to ${started.to}\n`);
        return;
      }
      ctx.log(`Rollout ${started.id} started: ${options.endpoint} from ${started.from} to ${started.to}`);
      const ended = await followRollout(client, started.id, (decision) => ctx.log(describeDecision(decision)));
      const failure = rolloutFailure(ended);
      if (failure !== undefined) throw failure;
      ctx.emit(options, ended, () => `Rollout ${ended.id} succeeded: ${ended.to} has all of ${ended.endpoint}'s traffic\n`);
    });

  withCommonOptions(rollout.command('status').description('Show a rollout: its state, step, weight and every decision with its figures'))
    .requiredOption('--id <ID>', 'rollout id')
    .action(async (options: IdOptions) => {
      const found = await (await ctx.client(options)).getRollout(options.id);
      ctx.emit(options, found, () => describeRollout(found));
    });

  withCommonOptions(rollout.command('list').description('List rollouts, newest first'))
    .option('--endpoint <ENDPOINT>', 'only those of this endpoint')
    .action(async (options: CommonOptions & { endpoint?: string }) => {
      const rollouts = await (await ctx.client(options)).listRollouts(options.endpoint);
      ctx.emit(options, rollouts, () =>
        rollouts.length === 0
          ? 'No rollouts.\n'
          : formatTable(
              rollouts.map((r) => ({ name: r.id, endpoint: r.endpoint, from: r.from, to: r.to, state: r.state, weight: r.weight })),
              ['endpoint', 'from', 'to', 'state', 'weight'],
            ),
      );
    });

  for (const [action, text] of [
    ['pause', 'Pause a rollout: traffic stays where it is and no gate is checked'],
    ['resume', 'Resume a paused rollout (the step in progress bakes again)'],
    ['abort', 'Abort a rollout: all traffic back to the deployment it started from'],
    ['promote', 'Promote a rollout now: skip its remaining steps and gates, all traffic to the candidate'],
  ] as const) {
    withCommonOptions(rollout.command(action).description(text))
      .requiredOption('--id <ID>', 'rollout id')
      .action(async (options: IdOptions) => {
        const changed = await (await ctx.client(options)).controlRollout(options.id, action);
        ctx.emit(options, changed, () => `Rollout ${changed.id} is ${changed.state.replace('_', ' ')}\n`);
      });
  }
}
