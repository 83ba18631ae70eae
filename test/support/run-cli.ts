import { spawn } from 'node:child_process';
import { CLI_BIN, REPO_ROOT } from './paths.js';
import { tempDir } from './temp.js';

/** What a CLI run printed and how it exited. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** Added to (and overriding) a clean environment that has no MLflow or mldeploy variables. */
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  readonly stdin?: string;
  readonly timeoutMs?: number;
}

let home: string | undefined;

/**
 * The environment without variables that would change what the CLI does, and with a HOME of
 * the test run's own (one per test process): what the CLI keeps there (the client-side audit
 * logs of non-local targets, the model cache, the default local target) never reaches the home
 * of whoever runs the tests, nor comes from it. `extra.HOME` overrides it.
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  home ??= tempDir('home');
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith('MLFLOW_') || key.startsWith('MLDEPLOY_') || key === 'raiseError') continue;
    env[key] = value;
  }
  env['HOME'] = home;
  const merged = new Map(Object.entries(env));
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) merged.delete(key);
    else merged.set(key, value);
  }
  return Object.fromEntries(merged);
}

/** Runs the real `mldeploy` CLI as a child process, as a user would. */
export function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: cleanEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}
