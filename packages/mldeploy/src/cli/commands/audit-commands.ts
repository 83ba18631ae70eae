import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { MlDeployError, type AuditRecord } from '@mldeploy/core';
import { withCommonOptions, type CommandContext, type CommonOptions } from '../command-context.js';
import { formatTable } from '../format-output.js';
import { UsageError } from '../usage-error.js';

interface AuditOptions extends CommonOptions {
  readonly subject?: string;
  readonly limit: string;
  readonly output?: string;
}

/** The entries as a table: id, time, who, what, on what, and how it ended. */
function formatEntries(entries: readonly AuditRecord[]): string {
  if (entries.length === 0) return 'No audit entries.\n';
  const rows = entries.map((e) => ({
    name: String(e.id),
    at: e.at,
    actor: e.actor,
    action: e.action,
    subject: e.subject,
    result: e.result,
  }));
  return formatTable(rows, ['at', 'actor', 'action', 'subject', 'result']).replace(/^NAME/, 'ID  ');
}

/**
 * `audit list|verify|export`: a target's audit log, kept by its control plane (`local`) or by
 * the CLI itself in ~/.mldeploy/audit (every other target). See docs/audit.md.
 */
export function registerAuditCommands(program: Command, ctx: CommandContext): void {
  const audit = program
    .command('audit')
    .description("A target's audit log: every change, who made it, the state before and after, hash-chained");

  withCommonOptions(audit.command('list').description('Show the latest entries, oldest first'))
    .option('--subject <NAME>', 'only the entries about this deployment or endpoint')
    .option('--limit <N>', 'how many entries', '20')
    .action(async (options: AuditOptions) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        throw new UsageError(`Invalid value for '--limit': ${JSON.stringify(options.limit)} is not a number from 1 to 10000.`);
      const entries = await (await ctx.auditSource(options)).list(options.subject, limit);
      ctx.emit(options, entries, () => formatEntries(entries));
    });

  withCommonOptions(
    audit.command('verify').description('Check the hash chain; fails naming the first entry that was edited, removed or re-ordered'),
  ).action(async (options: AuditOptions) => {
    const source = await ctx.auditSource(options);
    const verification = await source.verify();
    const { problem } = verification;
    if (problem === undefined) {
      ctx.emit(
        options,
        verification,
        () => `Audit log intact: ${verification.entries} entries, last hash ${verification.last_hash ?? 'none (empty log)'}\n`,
      );
      return;
    }
    if (options.json === true) ctx.emit(options, verification, () => '');
    throw new MlDeployError('INVALID_STATE', `The audit log (${source.where}) is not intact: ${problem.message}`, {
      details: { id: problem.id, kind: problem.kind, entries: verification.entries },
      hint: `Entry ${problem.id} is the first that does not verify. Compare the log with an exported copy ('mldeploy audit export').`,
    });
  });

  withCommonOptions(audit.command('export').description('Write every entry as JSON Lines, with its hashes (to stdout by default)'))
    .option('-o, --output <FILE>', 'write to FILE instead (created 0600, replaced if it exists)')
    .action(async (options: AuditOptions) => {
      const source = await ctx.auditSource(options);
      const file = options.output === undefined ? undefined : path.resolve(ctx.io.cwd, options.output);
      const handle = file === undefined ? undefined : await open(file, 'w', 0o600);
      let count = 0;
      try {
        for await (const entry of source.entries((problem) =>
          ctx.log(`warning: ${problem}: left out ('mldeploy audit verify' says more)`),
        )) {
          const line = `${JSON.stringify(entry)}\n`;
          if (handle === undefined) ctx.io.stdout.write(line);
          else await handle.write(line);
          count += 1;
        }
      } finally {
        await handle?.close();
      }
      if (file !== undefined) ctx.log(`Exported ${count} audit entries from ${source.where} to ${file}`);
    });
}
