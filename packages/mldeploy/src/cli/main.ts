import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { DEPLOYMENTS_TARGET_ENV, errorToBody, toMlDeployError } from '@mldeploy/core';
import type { CliIo } from './cli-io.js';
import { CommandContext } from './command-context.js';
import { registerAuditCommands } from './commands/audit-commands.js';
import { registerDashboardCommands } from './commands/dashboard-commands.js';
import { registerDeploymentCommands } from './commands/deployment-commands.js';
import { registerEndpointCommands } from './commands/endpoint-commands.js';
import { registerModelsCommands } from './commands/models-commands.js';
import { registerPredictCommands } from './commands/predict-commands.js';
import { registerRevisionCommands } from './commands/revision-commands.js';
import { registerRolloutCommands } from './commands/rollout-commands.js';
import { registerServerCommands } from './commands/server-commands.js';
import { registerSpecCommands } from './commands/spec-commands.js';
import { registerTargetCommands } from './commands/target-commands.js';
import { registerWatchCommands } from './commands/watch-commands.js';
import { SpecError, problemLocation } from '../spec/spec-error.js';
import { UsageError } from './usage-error.js';

/** Exit statuses: 0 success, 1 a failed operation, 2 a usage error. */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function buildProgram(ctx: CommandContext): Command {
  const program = new Command('mldeploy')
    .description(
      `Deploy ML models to any serving platform. The platform is chosen by a target URI (-t or $${DEPLOYMENTS_TARGET_ENV}); ` +
        "each target is a plugin. The subcommands and flags are those of 'mlflow deployments'.",
    )
    .version(VERSION, '-v, --version')
    .helpCommand(false)
    .showHelpAfterError("(run 'mldeploy <command> --help' for usage)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.io.stdout.write(s), writeErr: (s) => ctx.io.stderr.write(s) });
  registerDeploymentCommands(program, ctx);
  registerPredictCommands(program, ctx);
  registerEndpointCommands(program, ctx);
  registerTargetCommands(program, ctx);
  registerModelsCommands(program, ctx, VERSION);
  registerRevisionCommands(program, ctx);
  registerRolloutCommands(program, ctx);
  registerWatchCommands(program, ctx);
  registerServerCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerDashboardCommands(program, ctx);
  registerSpecCommands(program, ctx);
  for (const command of [...program.commands, ...program.commands.flatMap((c) => c.commands)]) {
    command.exitOverride().configureOutput({ writeOut: (s) => ctx.io.stdout.write(s), writeErr: (s) => ctx.io.stderr.write(s) });
    command.showHelpAfterError(`(run 'mldeploy ${command.name()} --help' for usage)`);
    // Commander's help does not say which options are required; `create --help` must.
    for (const option of command.options) if (option.mandatory) option.description = `${option.description} (required)`;
  }
  return program;
}

/** Whether argv asks for the top-level help (no subcommand): the only help that lists targets. */
function wantsProgramHelp(argv: readonly string[]): boolean {
  return argv.length === 0 || (argv.every((a) => a.startsWith('-')) && (argv.includes('--help') || argv.includes('-h')));
}

/**
 * The epilog of `mldeploy --help`: the installed targets, found by plugin discovery. Commander
 * prints help synchronously and discovery is async, so it is found before parsing; a failure
 * of discovery is reported in the epilog rather than failing the help.
 */
async function installedTargetsEpilog(ctx: CommandContext): Promise<string> {
  let line: string;
  try {
    const targets = await ctx.installedTargets();
    line = targets.length === 0 ? 'Installed targets: none.' : `Installed targets: ${targets.join(', ')}`;
  } catch (error) {
    line = `Installed targets: could not be listed (${oneLine(toMlDeployError(error).message)})`;
  }
  return `\n${line}\nRun 'mldeploy help -t <target>' for a target's URI forms and config keys.`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Reports a failure: one line (code, message, what to do); JSON with --json; the stack with --verbose. */
function reportError(error: unknown, argv: readonly string[], io: CliIo): number {
  const verbose = argv.includes('--verbose');
  if (error instanceof SpecError) {
    // An input error, as a usage error is: every problem, one per line (as data with --json).
    io.stderr.write(
      argv.includes('--json')
        ? `${JSON.stringify({
            error_code: 'INVALID_PARAMETER_VALUE',
            message: `Invalid spec ${error.file}`,
            problems: error.problems.map((p) => ({ ...p, location: problemLocation(error.file, p) })),
          })}\n`
        : `error: ${error.message}\n`,
    );
    return EXIT.usage;
  }
  if (error instanceof UsageError) {
    io.stderr.write(`error: ${error.message}\n(run 'mldeploy --help' for usage)\n`);
    return EXIT.usage;
  }
  const typed = toMlDeployError(error);
  if (argv.includes('--json')) {
    io.stderr.write(`${JSON.stringify(errorToBody(typed))}\n`);
  } else {
    io.stderr.write(`error: ${typed.code}: ${oneLine(typed.message)}${typed.hint === undefined ? '' : ` — ${oneLine(typed.hint)}`}\n`);
  }
  if (verbose) {
    for (let e: unknown = error; e instanceof Error; e = e.cause) io.stderr.write(`${e.stack ?? String(e)}\n`);
  }
  return EXIT.failed;
}

/**
 * Runs the `mldeploy` CLI and returns its exit status. Everything it touches of the process
 * comes in through `io`, so tests and embedders can run it as the bin does.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx = new CommandContext(io);
  const program = buildProgram(ctx);
  if (wantsProgramHelp(argv)) program.addHelpText('after', await installedTargetsEpilog(ctx));
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.ok;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message; help and version output are successes.
      return ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code) ? EXIT.ok : EXIT.usage;
    }
    return reportError(error, argv, io);
  }
}
