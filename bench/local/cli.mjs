// Helpers for the local-target benchmarks: run the real CLI against a fresh home.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bin = path.join(root, 'packages', 'mldeploy', 'bin', 'mldeploy.js');
export const irisModel = path.join(root, 'fixtures', 'models', 'onnx-iris');
export const irisBody = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });

/** A fresh home; `mldeploy(...args)` runs the CLI on it and returns parsed --json output. */
export function freshHome(label) {
  const home = mkdtempSync(path.join(os.tmpdir(), `mldeploy-bench-${label}-`));
  const target = `local:${home}`;
  const run = (args) => {
    const result = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`mldeploy ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  };
  return {
    home,
    target,
    mldeploy: (...args) => JSON.parse(run([...args.slice(0, 1), '-t', target, ...args.slice(1), '--json'])),
    raw: run,
    serverInfo: () => JSON.parse(readFileSync(path.join(home, 'server.json'), 'utf8')),
    // The gateway process (pid, port), recorded by the control plane that started it.
    gatewayInfo: () => JSON.parse(readFileSync(path.join(home, 'run', 'gateway.json'), 'utf8')),
    stop: () => spawnSync(process.execPath, [bin, 'server', 'stop', '--home', home], { cwd: root }),
  };
}
