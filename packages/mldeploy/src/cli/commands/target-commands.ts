import type { Command } from 'commander';
import { DEPLOYMENTS_TARGET_ENV, terminationSignal } from '@mldeploy/core';
import { brokenTargets } from '../../targets.js';
import { withCommonOptions, withConfigOption, type CommandContext, type CommonOptions } from '../command-context.js';
import { formatJson } from '../format-output.js';

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

/**
 * `help --json`: `{"target", "help"}` for a target, `{"target": null, "installed_targets",
 * "broken_targets"}` without one. Kept apart from the text form so that the two can change independently.
 */
async function helpJson(ctx: CommandContext, target: string | undefined): Promise<string> {
  if (target === undefined || target === '') {
    const broken = await brokenTargets({ config: ctx.config() });
    return formatJson({
      target: null,
      installed_targets: await ctx.installedTargets(),
      broken_targets: broken.map((b) => ({ target: b.target, origin: b.origin, reason: b.reason })),
    });
  }
  return formatJson({ target, help: await ctx.targetHelp(target) });
}

/** `help -t TARGET` and `run-local`. */
export function registerTargetCommands(program: Command, ctx: CommandContext): void {
  withCommonOptions(program.command('help').description("Show a target's help: its URI forms and config keys")).action(
    async (options: CommonOptions) => {
      const target = options.target ?? ctx.io.env[DEPLOYMENTS_TARGET_ENV];
      if (options.json === true) {
        ctx.io.stdout.write(await helpJson(ctx, target));
        return;
      }
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
    withCommonOptions(program.command('run-local').description('Serve a model on this machine in the foreground until Ctrl-C')),
  )
    .requiredOption('--name <NAME>', 'name to serve the model under')
    .requiredOption('-m, --model-uri <URI>', 'model URI')
    .option('-f, --flavor <FLAVOR>', 'model flavor')
    .action(async (options: RunLocalOptions) => {
      const config = ctx.configArgs(options);
      const target = ctx.target(options);
      const termination = terminationSignal();
      try {
        // What a target reports while it serves is its log lines; with --json each is a JSON line on stdout.
        const log =
          options.json === true
            ? (line: string) => ctx.io.stdout.write(`${JSON.stringify({ target, name: options.name, message: line })}\n`)
            : undefined;
        await ctx.runLocal(target, options.name, options.modelUri, options.flavor, config, termination.signal, log);
      } finally {
        termination.dispose();
      }
    });
}
