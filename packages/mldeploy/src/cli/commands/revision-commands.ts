import type { Command } from 'commander';
import { withCommonOptions, type CommandContext, type CommonOptions } from '../command-context.js';
import { formatTable } from '../format-output.js';
import { UsageError } from '../usage-error.js';

interface RevisionOptions extends CommonOptions {
  readonly name: string;
  readonly toRevision?: string;
  readonly tail: string;
}

/**
 * A log entry for people: `[deployment rev R replica I] event: message` when it has those fields,
 * with the level in front when it is not the ordinary `info`.
 */
function formatFields(entry: Readonly<Record<string, unknown>>): string {
  const level = typeof entry['level'] === 'string' && entry['level'] !== 'info' ? `${entry['level'].toUpperCase()} ` : '';
  const where = ['deployment', 'revision', 'replica'].every((k) => entry[k] !== undefined)
    ? `[${String(entry['deployment'])} rev ${String(entry['revision'])} replica ${String(entry['replica'])}] `
    : '';
  const event = typeof entry['event'] === 'string' && !['stdout', 'stderr'].includes(entry['event']) ? `${entry['event']}: ` : '';
  return `${level}${where}${event}${typeof entry['message'] === 'string' ? entry['message'] : JSON.stringify(entry)}`;
}

/**
 * A revision's config in one cell, `key=value` separated by spaces: revisions that differ only in
 * config (say `replicas`) must not look the same in the table.
 */
function formatConfig(config: unknown): string | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  return Object.entries(config)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

/** `history`, `rollback` and `logs`: revisions and worker logs of a deployment. */
export function registerRevisionCommands(program: Command, ctx: CommandContext): void {
  withCommonOptions(program.command('history').description("List a deployment's revisions"))
    .requiredOption('--name <NAME>', 'deployment name')
    .action(async (options: RevisionOptions) => {
      const revisions = await (await ctx.client(options)).listRevisions(options.name);
      ctx.emit(options, revisions, () =>
        formatTable(
          revisions.map((r) => ({
            name: `${String(r['revision'])}${r['current'] === true ? ' *' : ''}`,
            ...r,
            config: formatConfig(r['config']),
          })),
          ['reason', 'model_uri', 'model_version', 'flavor', 'config', 'created_at'],
        ).replace(/^NAME/, 'REV '),
      );
    });

  withCommonOptions(
    program.command('rollback').description('Serve an earlier revision again (as a new revision), with the zero-downtime switch'),
  )
    .requiredOption('--name <NAME>', 'deployment name')
    .option('--to-revision <N>', 'the revision to return to (default: the one before the current)')
    .action(async (options: RevisionOptions) => {
      const to = options.toRevision === undefined ? undefined : Number(options.toRevision);
      if (to !== undefined && (!Number.isInteger(to) || to < 1))
        throw new UsageError(`Invalid value for '--to-revision': ${JSON.stringify(options.toRevision)} is not a revision number.`);
      const deployment = await (await ctx.client(options)).rollbackDeployment(options.name, to);
      ctx.emit(
        options,
        deployment,
        () =>
          `Deployment ${deployment.name} rolled back: now serving revision ${String(deployment['revision'])} (${String(deployment['model_uri'])})\n`,
      );
    });

  withCommonOptions(program.command('logs').description("Print a deployment's worker logs"))
    .requiredOption('--name <NAME>', 'deployment name')
    .option('--tail <N>', 'how many lines', '100')
    .action(async (options: RevisionOptions) => {
      const tail = Number(options.tail);
      if (!Number.isInteger(tail) || tail < 1)
        throw new UsageError(`Invalid value for '--tail': ${JSON.stringify(options.tail)} is not a positive number.`);
      const entries = await (await ctx.client(options)).getLogs(options.name, tail);
      ctx.emit(options, entries, () =>
        entries.map((e) => `${typeof e['time'] === 'string' && e['time'] !== '' ? `${e['time']} ` : ''}${formatFields(e)}\n`).join(''),
      );
    });
}
