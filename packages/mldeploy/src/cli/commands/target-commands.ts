import type { Command } from 'commander';
import { DEPLOYMENTS_TARGET_ENV, terminationSignal } from '@mldeploy/core';
import { brokenTargets } from '../../targets.js';
import { withCommonOptions, withConfigOption, type CommandContext, type CommonOptions } from '../command-context.js';

interface RunLocalOptions extends CommonOptions {
  readonly name: string;
  readonly modelUri: string;
  readonly flavor?: string;
}

/** Lists the installed targets for help texts, and apart from them the broken declarations, with why. */
async function installedTargetsLine(ctx: CommandContext): Promise<string> {
  const targets = await ctx.installedTargets();
  const broken = await brokenTargets({ config: ctx.config() });
  const installed =
    targets.length === 0
      ? 'NOTE: you currently do not have support installed for any deployment targets.'
      : `Support is currently installed for deployment to: ${targets.join(', ')}`;
  return broken.length === 0
    ? installed
    : `${installed}\nBroken target declarations (not usable until fixed):\n${broken.map((b) => `  ${b.target} (${b.origin}): ${b.reason}`).join('\n')}`;
}

/** `help -t TARGET` and `run-local`. */
export function registerTargetCommands(program: Command, ctx: CommandContext): void {
  withCommonOptions(program.command('help').description("Show a target's help: its URI forms and config keys"), { json: false }).action(
    async (options: CommonOptions) => {
      const target = options.target ?? ctx.io.env[DEPLOYMENTS_TARGET_ENV];
      if (target === undefined || target === '') {
        ctx.io.stdout.write(
          `${program.helpInformation()}\n${await installedTargetsLine(ctx)}\nRun 'mldeploy help -t <target>' for a target's own help.\n`,
        );
        return;
      }
      const text = await ctx.targetHelp(target);
      ctx.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
  );

  withConfigOption(
    withCommonOptions(program.command('run-local').description('Serve a model on this machine in the foreground until Ctrl-C'), {
      json: false,
    }),
  )
    .requiredOption('--name <NAME>', 'name to serve the model under')
    .requiredOption('-m, --model-uri <URI>', 'model URI')
    .option('-f, --flavor <FLAVOR>', 'model flavor')
    .action(async (options: RunLocalOptions) => {
      const config = ctx.configArgs(options);
      const target = ctx.target(options);
      const termination = terminationSignal();
      try {
        await ctx.runLocal(target, options.name, options.modelUri, options.flavor, config, termination.signal);
      } finally {
        termination.dispose();
      }
    });
}
