#!/usr/bin/env node
// The main job, end to end with the real CLI: deploy the bundled iris model (a real MLflow ONNX
// model directory) on the built-in `local` target, predict through its gateway, update it with
// zero downtime, look at its history, and clean up. Each command is printed as a user would type it.
// The demo uses its own home folder, so it touches nothing in ~/.mldeploy.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'packages', 'mldeploy', 'bin', 'mldeploy.js');
const model = path.join('fixtures', 'models', 'onnx-iris');
const input = path.join(model, 'serving_input_example.json');
const home = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-demo-'));
const target = `local:${home}`;

function mldeploy(...args) {
  console.log(`\n$ mldeploy ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`mldeploy ${args[0]} failed with exit code ${result.status}`);
}

try {
  mldeploy('create', '-t', target, '--name', 'iris', '-m', model);
  mldeploy('predict', '-t', target, '--name', 'iris', '-I', input);
  mldeploy('update', '-t', target, '--name', 'iris', '-C', 'replicas=2');
  mldeploy('get', '-t', target, '--name', 'iris');
  mldeploy('history', '-t', target, '--name', 'iris');
  mldeploy('delete', '-t', target, '--name', 'iris');
} finally {
  spawnSync(process.execPath, [bin, 'server', 'stop', '--home', home], { cwd: root, stdio: 'ignore' });
  rmSync(home, { recursive: true, force: true });
}
