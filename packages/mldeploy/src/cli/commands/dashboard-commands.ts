import type { Command } from 'commander';
import open from 'open';
import { onTerminationSignal } from '@mldeploy/core';
import { LocalDeploymentClient } from '@mldeploy/target-local';
import { readTargetFeed } from '../../dashboard/target-feed.js';
import { withCommonOptions, type CommandContext, type CommonOptions } from '../command-context.js';
import { UsageError } from '../usage-error.js';

interface DashboardOptions extends CommonOptions {
  readonly open: boolean;
  readonly show: string[];
  readonly interval: string;
}

/** `dashboard`: a link that signs a browser in to the local control plane's dashboard; optionally feeds it other targets. */
export function registerDashboardCommands(program: Command, ctx: CommandContext): void {
  withCommonOptions(
    program
      .command('dashboard')
      .description(
        "Open the local control plane's web dashboard (deployments, endpoints, rollouts, audit log; live): prints a one-time sign-in link",
      ),
  )
    .option('--no-open', 'print the link without opening a browser')
    .option(
      '--show <URI>',
      "also show another target's deployments and endpoints (repeatable): read with your credentials every --interval seconds while this command runs",
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option('--interval <SECONDS>', 'how often --show reads the other targets', '10')
    .action(async (options: DashboardOptions) => {
      const interval = Number(options.interval);
      if (!Number.isFinite(interval) || interval < 1 || interval > 3600)
        throw new UsageError(
          `Invalid value for '--interval': ${JSON.stringify(options.interval)} is not a number of seconds from 1 to 3600.`,
        );
      const target = ctx.target(options);
      const client = await ctx.client(options);
      if (!(client instanceof LocalDeploymentClient)) {
        throw new UsageError(
          `The dashboard is served by a local control plane, and '${target}' is not one: use -t local (or local:/DIR) and --show ${target}.`,
        );
      }
      // Every other target is opened before the link is made: a typo fails now, not in the page.
      const shown = await Promise.all(options.show.map(async (uri) => ({ uri, client: (await ctx.openTarget(uri)).client })));
      const link = await client.dashboardLink();
      ctx.emit(
        options,
        { url: link.url, expires_at: link.expiresAt },
        () => `Dashboard: ${link.url}\n(the link signs in one browser, once, until ${link.expiresAt})\n`,
      );
      if (options.open) {
        await open(link.url, { wait: false }).then(
          (child) => child.once('error', () => ctx.log('Could not open a browser: open the link above yourself.')),
          () => ctx.log('Could not open a browser: open the link above yourself.'),
        );
      }
      if (shown.length === 0) return;
      ctx.log(`Showing ${shown.map((s) => s.uri).join(', ')} on the dashboard, read every ${interval} s; stop with Ctrl-C`);
      const stopping = new AbortController();
      const dispose = onTerminationSignal(() => stopping.abort());
      try {
        while (!stopping.signal.aborted) {
          for (const { uri, client: other } of shown) {
            const feed = await readTargetFeed(uri, other, interval);
            await client
              .publishDashboardTarget(feed)
              .catch((error: unknown) => ctx.log(`Could not update the dashboard: ${(error as Error).message}`));
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, interval * 1000);
            stopping.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
          });
        }
        ctx.log('Stopped; the dashboard shows the other targets as stale from now on.');
      } finally {
        dispose();
      }
    });
}
