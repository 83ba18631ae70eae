import path from 'node:path';
import type { Command } from 'commander';
import { ensureServer, readServerInfo, runningServer, serveControlPlane, stopServer } from '@mldeploy/target-local';
import type { CommandContext } from '../command-context.js';
import { formatKeyValues } from '../format-output.js';
import { UsageError } from '../usage-error.js';

interface ServerOptions {
  readonly home?: string;
  readonly port: string;
  readonly host: string;
  readonly json?: boolean;
  readonly verbose?: boolean;
}

function homeOf(ctx: CommandContext, options: ServerOptions): string {
  return path.resolve(ctx.io.cwd, options.home ?? path.join(ctx.config().homeDir, '.mldeploy'));
}

/** `server run|start|stop|status`: the local target's control plane. */
export function registerServerCommands(program: Command, ctx: CommandContext): void {
  const server = program.command('server').description("Manage the local target's control plane");
  const common = (command: Command): Command =>
    command
      .option('--home <DIR>', 'the home folder (default: ~/.mldeploy)')
      .option('--json', 'print machine-readable JSON')
      .option('--verbose', 'print stack traces on errors');

  common(server.command('run').description('Run the control plane in the foreground until SIGINT or SIGTERM'))
    .option('--port <PORT>', 'port for the API and the prediction gateway (default: the last one used, else a free one)', '0')
    .option('--host <HOST>', 'address to bind (loopback only)', '127.0.0.1')
    .action(async (options: ServerOptions) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new UsageError(`Invalid value for '--port': ${JSON.stringify(options.port)} is not a port number.`);
      await serveControlPlane(ctx.config(), { home: homeOf(ctx, options), host: options.host, port, logTo: ctx.io.stderr });
    });

  common(server.command('start').description('Start the control plane in the background (if it is not running)')).action(
    async (options: ServerOptions) => {
      const home = homeOf(ctx, options);
      const url = await ensureServer(home, ctx.config().env, (line) => ctx.log(line));
      const info = await readServerInfo(home);
      ctx.emit(options, { home, url, pid: info?.pid }, () => `Control plane for ${home} is running at ${url} (pid ${info?.pid ?? '?'})\n`);
    },
  );

  common(server.command('stop').description('Stop the control plane; deployments come back at the next start')).action(
    async (options: ServerOptions) => {
      const home = homeOf(ctx, options);
      if (!(await stopServer(home, ctx.config().user))) {
        ctx.emit(options, { home, running: false }, () => `No control plane is running for ${home}\n`);
        return;
      }
      ctx.emit(options, { home, stopped: true }, () => `Control plane for ${home} stopped\n`);
    },
  );

  common(server.command('status').description('Say whether the control plane runs, and where')).action(async (options: ServerOptions) => {
    const home = homeOf(ctx, options);
    const url = await runningServer(home);
    const info = await readServerInfo(home);
    const status =
      url === undefined
        ? { home, running: false }
        : { home, running: true, url, pid: info?.pid, version: info?.version, started_at: info?.startedAt };
    ctx.emit(options, status, () => (url === undefined ? `No control plane is running for ${home}\n` : formatKeyValues(status)));
  });
}
