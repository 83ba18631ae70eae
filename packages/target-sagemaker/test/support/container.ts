import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../../../test/support/mlflow-scoring-server.js';
import { CLI_BIN, REPO_ROOT } from '../../../../test/support/paths.js';
import { startProcessServer } from '../../../../test/support/process-server.js';
import { cleanEnv, type CliResult } from '../../../../test/support/run-cli.js';
import { tempDir } from '../../../../test/support/temp.js';

/** The SageMaker serving image's entry script, as the Dockerfile copies it. */
export const ENTRYPOINT = path.join(REPO_ROOT, 'packages', 'target-sagemaker', 'container', 'sagemaker-entrypoint.sh');

/** `'…'` for sh: the text exactly, whatever it holds. */
function shellQuoted(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

let binDir: string | undefined;

/**
 * A folder whose `mldeploy` runs this checkout's CLI with the Node running the tests: what the
 * image has on its PATH. Not node_modules/.bin's link: its `#!/usr/bin/env node` takes the first
 * Node on PATH, which may be older than the CLI needs.
 */
function mldeployBin(): string {
  if (binDir === undefined) {
    const dir = tempDir('sagemaker-bin');
    writeFileSync(path.join(dir, 'mldeploy'), `#!/bin/sh\nexec ${shellQuoted(process.execPath)} ${shellQuoted(CLI_BIN)} "$@"\n`, {
      mode: 0o755,
    });
    binDir = dir;
  }
  return binDir;
}

/** A clean environment (no MLflow or mldeploy variables) with `extra`, and this checkout's `mldeploy` first on PATH. */
function imageEnv(extra: Record<string, string> = {}): Record<string, string> {
  return cleanEnv({ ...extra, PATH: `${mldeployBin()}${path.delimiter}${process.env['PATH'] ?? ''}` });
}

/**
 * Runs the entry script as SageMaker runs the image (`serve`, the model in `modelDir` where
 * SageMaker would mount /opt/ml/model, the port in SAGEMAKER_BIND_TO_PORT), on this machine
 * instead of in a container. It binds loopback unless `host` says otherwise (in the image, all
 * interfaces). Resolves once `/ping` answers 200.
 */
export async function startSageMakerContainerLocally(
  modelDir: string,
  host = '127.0.0.1',
): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const url = `http://${host}:${port}`;
  const server = await startProcessServer({
    command: 'sh',
    args: [ENTRYPOINT, 'serve'],
    env: imageEnv({ MLDEPLOY_MODEL_DIR: modelDir, MLDEPLOY_HOST: host, SAGEMAKER_BIND_TO_PORT: String(port) }),
    cwd: tempDir('sagemaker-cwd'),
    readyUrl: `${url}/ping`,
  });
  return { url, stop: () => server.stop() };
}

/** Runs the entry script with `args` (anything but `serve`) to its end, as `docker run IMAGE …args` would. */
export function runEntrypoint(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [ENTRYPOINT, ...args], { env: imageEnv(), stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
