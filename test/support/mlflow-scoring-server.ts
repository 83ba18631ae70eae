import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { VENV } from './paths.js';
import { waitFor } from './wait-for.js';

/** A running `mlflow models serve`. */
export interface MlflowScoringServer {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
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
    throw new Error(`MLflow is not installed in ${VENV}: run .ci/run, or python3 -m venv .venv && .venv/bin/pip install -r python/requirements.txt`);
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
  const bin = venvBin();
  const child = spawn(path.join(bin, 'mlflow'), ['models', 'serve', '-m', modelDir, '-p', String(port), '-h', '127.0.0.1', '--env-manager', 'local'], {
    env: { ...process.env, ...venvEnv() },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // uvicorn runs as a child of mlflow: signal the whole process group.
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      return;
    }
    await exited;
  };
  try {
    await waitFor(`MLflow scoring server on ${url}`, async () => {
      if (child.exitCode !== null) throw new Error(`mlflow models serve exited with ${child.exitCode}:\n${output}`);
      const response = await fetch(`${url}/ping`).catch(() => undefined);
      return response?.status === 200 ? true : undefined;
    }, 90_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port, process: child, output: () => output, stop };
}
