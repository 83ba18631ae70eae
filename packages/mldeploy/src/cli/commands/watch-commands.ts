import type { Command } from 'commander';
import { onTerminationSignal, rolloutPolicySchema } from '@mldeploy/core';
import { AliasWatcher, type CheckOutcome } from '../../watch/alias-watch.js';
import { withCommonOptions, type CommandContext, type CommonOptions } from '../command-context.js';
import { readPolicy } from './rollout-commands.js';
import { UsageError } from '../usage-error.js';

interface WatchOptions extends CommonOptions {
  readonly endpoint: string;
  readonly modelUri: string;
  readonly policy?: string;
  readonly policyFile?: string;
  readonly interval: string;
  readonly prefix?: string;
  readonly once?: boolean;
}

function describe(outcome: CheckOutcome): string {
  switch (outcome.kind) {
    case 'up-to-date':
      return `version ${outcome.version} serves already`;
    case 'bootstrapped':
      return `created on ${outcome.deployment} (version ${outcome.version})`;
    case 'rolled-out':
      return `rolled out ${outcome.deployment} (version ${outcome.version}, rollout ${outcome.rollout})`;
    case 'rolled-back':
      return outcome.error.message;
    case 'skipped':
      return outcome.reason;
  }
}

/** `watch-alias`: a registry alias followed by rollouts, in the foreground (off unless run). */
export function registerWatchCommands(program: Command, ctx: CommandContext): void {
  withCommonOptions(
    program
      .command('watch-alias')
      .description(
        'Follow models:/<name>@<alias> in the MLflow registry: when the alias moves, deploy the new version and roll an endpoint over to it by a policy',
      ),
  )
    .requiredOption('--endpoint <ENDPOINT>', 'the endpoint callers use (created on the current version if missing)')
    .requiredOption('-m, --model-uri <URI>', 'models:/<name>@<alias>')
    .option('--policy <JSON>', 'the rollout policy (default: all-at-once)')
    .option('--policy-file <FILE>', 'the rollout policy in a YAML or JSON file')
    .option('--interval <SECONDS>', 'seconds between checks of the registry', '60')
    .option('--prefix <NAME>', 'deployments are named <prefix>-v<version> (default: the endpoint name)')
    .option('--once', 'check once (and finish a rollout it starts), then exit: 1 if it was rolled back')
    .action(async (options: WatchOptions) => {
      const interval = Number(options.interval);
      if (!Number.isInteger(interval) || interval < 1 || interval > 86_400) {
        throw new UsageError(
          `Invalid value for '--interval': ${JSON.stringify(options.interval)} is not a whole number of seconds from 1 to 86400.`,
        );
      }
      const policy =
        options.policy === undefined && options.policyFile === undefined
          ? rolloutPolicySchema.parse({ strategy: 'all-at-once' })
          : await readPolicy(options, ctx.io.cwd);
      const client = await ctx.client(options);
      const watcher = new AliasWatcher({
        client,
        endpoint: options.endpoint,
        modelUri: options.modelUri,
        policy,
        prefix: options.prefix ?? options.endpoint,
        env: ctx.io.env,
        log: (line) => ctx.log(line),
      });
      if (options.once === true) {
        const outcome = await watcher.check();
        if (outcome.kind === 'rolled-back') throw outcome.error;
        ctx.emit(options, outcome, () => `${options.endpoint}: ${describe(outcome)}\n`);
        return;
      }
      ctx.log(`Watching ${options.modelUri} every ${interval} s for ${options.endpoint}; stop with Ctrl-C`);
      const stopping = new AbortController();
      const stopped = new Promise<void>((resolve) => stopping.signal.addEventListener('abort', () => resolve(), { once: true }));
      const dispose = onTerminationSignal(() => stopping.abort());
      try {
        for (;;) {
          // A failed check (registry down, a refused deployment) is reported and tried again next time.
          const checked = watcher.check(stopping.signal).then(describe, (error: unknown) => `check failed: ${(error as Error).message}`);
          // Ctrl-C during a check (a rollout can take hours) stops the watch at once; the rollout is the target's and goes on.
          const line = await Promise.race([checked, stopped.then(() => undefined)]);
          if (line === undefined) {
            ctx.log('Stopped watching; a rollout under way goes on (mldeploy rollout list).');
            break;
          }
          ctx.log(`${new Date().toISOString()} ${options.endpoint}: ${line}`);
          // A timer that holds the process up: the watch is all this process does.
          let timer: NodeJS.Timeout | undefined;
          const next = new Promise<'tick'>((resolve) => (timer = setTimeout(() => resolve('tick'), interval * 1000)));
          const woke = await Promise.race([next, stopped.then(() => 'stop' as const)]);
          clearTimeout(timer);
          if (woke === 'stop') break;
        }
      } finally {
        dispose();
      }
    });
}
