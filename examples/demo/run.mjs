#!/usr/bin/env node
// The main job, end to end with the real CLI: serve the bundled iris model (a real MLflow model
// directory) with MLflow's scoring server, register it as a deployment of the `remote` target,
// predict, inspect, and clean up. Each command is printed as a user would type it.
//
// Until the built-in `local` target lands, `remote` (the example plugin in examples/target-remote)
// is the target mldeploy drives end to end. Run `./scripts/setup` first.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'packages', 'mldeploy', 'bin', 'mldeploy.js');
const mlflow = path.join(root, '.venv', 'bin', 'mlflow');
const model = path.join('fixtures', 'models', 'sklearn-iris');
const input = path.join(model, 'serving_input_example.json');

if (!existsSync(mlflow)) {
  console.error('MLflow is not installed in .venv: run ./scripts/setup first.');
  process.exit(1);
}

const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const home = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-demo-'));
const target = `remote:${home}`;

function mldeploy(...args) {
  console.log(`\n$ mldeploy ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`mldeploy ${args[0]} failed with exit code ${result.status}`);
}

console.log(`$ mldeploy run-local -t remote --name iris-server -m ${model} -C port=${port}   (in the background)`);
const server = spawn(process.execPath, [bin, 'run-local', '-t', 'remote', '--name', 'iris-server', '-m', model, '-C', `port=${port}`, '-C', `mlflow=${mlflow}`], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
});
const serverExit = new Promise((resolve) => server.once('exit', resolve));

try {
  const deadline = Date.now() + 120_000;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    const ok = await fetch(`http://127.0.0.1:${port}/ping`).then((r) => r.ok, () => false);
    if (ok) break;
    if (server.exitCode !== null) throw new Error('the model server exited before it was ready');
    if (Date.now() > deadline) throw new Error('the model server did not become ready within 120 s');
    await new Promise((r) => setTimeout(r, delay));
  }
  mldeploy('create', '-t', target, '--name', 'iris', '-m', `http://127.0.0.1:${port}`);
  mldeploy('predict', '-t', target, '--name', 'iris', '-I', input);
  mldeploy('get', '-t', target, '--name', 'iris');
  mldeploy('list', '-t', target);
  mldeploy('delete', '-t', target, '--name', 'iris');
} finally {
  server.kill('SIGINT');
  await serverExit;
  rmSync(home, { recursive: true, force: true });
}
