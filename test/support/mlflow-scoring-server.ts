import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { VENV } from './paths.js';
import { startProcessServer, type ProcessServer } from './process-server.js';

/** A running `mlflow models serve`. */
export interface MlflowScoringServer extends ProcessServer {
  readonly url: string;
  readonly port: number;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The venv's bin folder; fails with what to run when the venv is missing. */
export function venvBin(): string {
  const bin = path.join(VENV, 'bin');
  if (!existsSync(path.join(bin, 'mlflow'))) {
    throw new Error(
      `MLflow is not installed in ${VENV}: run .ci/run, or python3 -m venv .venv && .venv/bin/pip install -r python/requirements.txt`,
    );
  }
  return bin;
}

/** Environment for Python tools from the venv: its bin first on PATH, so MLflow finds uvicorn. */
export function venvEnv(): Record<string, string> {
  const bin = venvBin();
  return { PATH: `${bin}${path.delimiter}${process.env['PATH'] ?? ''}` };
}

/**
 * Starts MLflow's own scoring server on a model directory, on loopback, and resolves once
 * `/ping` answers 200.
 */
export async function startMlflowScoringServer(modelDir: string): Promise<MlflowScoringServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startProcessServer({
    command: path.join(venvBin(), 'mlflow'),
    args: ['models', 'serve', '-m', modelDir, '-p', String(port), '-h', '127.0.0.1', '--env-manager', 'local'],
    env: { ...process.env, ...venvEnv() },
    readyUrl: `${url}/ping`,
  });
  return { url, port, ...server };
}
