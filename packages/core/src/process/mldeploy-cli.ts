import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { MlDeployError } from '../errors/index.js';
import { runInForeground } from './run-in-foreground.js';

/** Where a plugin's {@link runMldeployServe} runs, and what stops it. */
export interface MldeployRunContext {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal | undefined;
}

/**
 * The mldeploy CLI to run: the one installed beside the plugins (a serving image runs the same),
 * else `mldeploy` from PATH.
 */
function mldeployCommand(): { command: string; prefix: string[] } {
  try {
    const manifest = createRequire(import.meta.url).resolve('mldeploy/package.json');
    const bin = path.join(path.dirname(manifest), 'bin', 'mldeploy.js');
    if (existsSync(bin)) return { command: process.execPath, prefix: [bin] };
  } catch {
    // Not installed beside core.
  }
  return { command: 'mldeploy', prefix: [] };
}

/**
 * Runs the mldeploy CLI with `args` in the foreground until it exits or `context.signal` aborts:
 * how a plugin's `runLocal` runs on this machine the command its serving image runs
 * (`models serve …`), with the output going to this terminal.
 *
 * @throws MlDeployError `RESOURCE_DOES_NOT_EXIST` when no mldeploy CLI is found; `INTERNAL_ERROR`
 * when it exits with an error (its own output says why).
 */
export async function runMldeployCli(args: readonly string[], context: MldeployRunContext, target: string): Promise<void> {
  const { command, prefix } = mldeployCommand();
  try {
    const outcome = await runInForeground(command, [...prefix, ...args], {
      cwd: context.cwd,
      env: { ...context.env },
      stdio: ['ignore', 'inherit', 'inherit'],
      signal: context.signal,
    });
    if (!outcome.stopped && outcome.code !== 0) {
      throw new MlDeployError(
        'INTERNAL_ERROR',
        `mldeploy ${args.slice(0, 2).join(' ')} exited with ${outcome.code === null ? `signal ${outcome.signal}` : `code ${outcome.code}`}`,
        { target, hint: 'Its own output above says why.' },
      );
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', 'The mldeploy CLI was not found beside the plugin or on PATH', {
        target,
        cause: error,
      });
    }
    throw error;
  }
}
