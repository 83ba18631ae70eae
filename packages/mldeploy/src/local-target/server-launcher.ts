import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlDeployError } from '../errors/index.js';
import { readServerInfo } from '../server/server-home.js';
import { ControlPlaneApi } from './control-plane-api.js';

const BIN = fileURLToPath(new URL('../../bin/mldeploy.js', import.meta.url));

/** The URL of the control plane serving `home`, or undefined when none is up. */
export async function runningServer(home: string): Promise<string | undefined> {
  const info = await readServerInfo(home);
  return info !== undefined && (await new ControlPlaneApi(info.url).health()) !== undefined ? info.url : undefined;
}

/**
 * Returns the URL of the control plane for `home`, starting one in the background when none is
 * running (its output goes to `<home>/logs/server.log`). Waits until it has brought back every
 * recorded deployment and answers health checks.
 */
export async function ensureServer(home: string, env: Readonly<Record<string, string | undefined>>, log: (line: string) => void, timeoutMs = 180_000): Promise<string> {
  const running = await runningServer(home);
  if (running !== undefined) return running;
  mkdirSync(path.join(home, 'logs'), { recursive: true, mode: 0o700 });
  const logFile = path.join(home, 'logs', 'server.log');
  log(`Starting the mldeploy control plane for ${home} (log: ${logFile})`);
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [BIN, 'server', 'run', '--home', home], { env: { ...env }, detached: true, stdio: ['ignore', out, out] });
  child.unref();
  const exit: { code: number | null } = { code: null };
  child.once('exit', (code) => (exit.code = code ?? 1));
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    const url = await runningServer(home);
    if (url !== undefined) return url;
    if (exit.code !== null) {
      // Another process may have started it first: that one serves as well.
      const other = await runningServer(home);
      if (other !== undefined) return other;
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
      throw new MlDeployError('INVALID_STATE', `The mldeploy control plane for ${home} exited at start (code ${exit.code}): ${tail}`, { target: 'local', hint: `See ${logFile}.` });
    }
    if (Date.now() > deadline) throw new MlDeployError('DEADLINE_EXCEEDED', `The mldeploy control plane for ${home} did not become ready within ${timeoutMs / 1000} s`, { target: 'local', hint: `See ${logFile}.` });
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
