import path from 'node:path';
import type { Command } from 'commander';
import { MlDeployError } from '../../errors/index.js';
import { ControlPlaneApi } from '../../local-target/control-plane-api.js';
import { ensureServer, runningServer } from '../../local-target/server-launcher.js';
import { createLogger, logLevelFrom } from '../../server/logger.js';
import { logRotationFrom } from '../../server/rotating-file.js';
import { readServerInfo } from '../../server/server-home.js';
import { runServer } from '../../server/run-server.js';
import { onShutdownSignal } from '../../server/shutdown-signal.js';
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
export function registerServerCommands(program: Command, ctx: CommandContext, version: string): void {
  const server = program.command('server').description("Manage the local target's control plane");
  const common = (command: Command): Command =>
    command.option('--home <DIR>', 'the home folder (default: ~/.mldeploy)').option('--json', 'print machine-readable JSON').option('--verbose', 'print stack traces on errors');

  common(server.command('run').description('Run the control plane in the foreground until SIGINT or SIGTERM'))
    .option('--port <PORT>', 'port for the API and the prediction gateway (default: the last one used, else a free one)', '0')
    .option('--host <HOST>', 'address to bind (loopback only)', '127.0.0.1')
    .action(async (options: ServerOptions) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`Invalid value for '--port': ${JSON.stringify(options.port)} is not a port number.`);
      const home = homeOf(ctx, options);
      const config = ctx.config();
      const running = await runServer({
        home,
        host: options.host,
        port,
        env: config.env,
        cacheDir: config.env['MLDEPLOY_CACHE_DIR'] === undefined ? path.join(home, 'cache', 'models') : config.cacheDir,
        mlflowCommand: config.mlflowCommand,
        version,
        // JSON lines on stderr (logs/server.log when started in the background): for machines first.
        logger: createLogger(ctx.io.stderr, { component: 'control-plane' }, logLevelFrom(config.env)),
        logRotation: logRotationFrom(config.env),
      });
      const dispose = onShutdownSignal(() => void running.stop());
      await running.stopped;
      dispose();
    });

  common(server.command('start').description('Start the control plane in the background (if it is not running)')).action(async (options: ServerOptions) => {
    const home = homeOf(ctx, options);
    const url = await ensureServer(home, ctx.config().env, (line) => ctx.log(line));
    const info = await readServerInfo(home);
    ctx.emit(options, { home, url, pid: info?.pid }, () => `Control plane for ${home} is running at ${url} (pid ${info?.pid ?? '?'})\n`);
  });

  common(server.command('stop').description('Stop the control plane; deployments come back at the next start')).action(async (options: ServerOptions) => {
    const home = homeOf(ctx, options);
    const url = await runningServer(home);
    const info = await readServerInfo(home);
    if (url === undefined || info === undefined) {
      ctx.emit(options, { home, running: false }, () => `No control plane is running for ${home}\n`);
      return;
    }
    await new ControlPlaneApi(url).shutdown();
    const deadline = Date.now() + 60_000;
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      let alive = true;
      try {
        process.kill(info.pid, 0);
      } catch {
        alive = false;
      }
      if (!alive) break;
      if (Date.now() > deadline) throw new MlDeployError('DEADLINE_EXCEEDED', `The control plane (pid ${info.pid}) did not stop within 60 s`, { hint: `Kill it: kill ${info.pid}` });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    ctx.emit(options, { home, stopped: true }, () => `Control plane for ${home} stopped\n`);
  });

  common(server.command('status').description('Say whether the control plane runs, and where')).action(async (options: ServerOptions) => {
    const home = homeOf(ctx, options);
    const url = await runningServer(home);
    const info = await readServerInfo(home);
    const status = url === undefined ? { home, running: false } : { home, running: true, url, pid: info?.pid, version: info?.version, started_at: info?.startedAt };
    ctx.emit(options, status, () => (url === undefined ? `No control plane is running for ${home}\n` : formatKeyValues(status)));
  });
}
