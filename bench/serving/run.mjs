#!/usr/bin/env node
// bench/serving: the same ONNX iris model served by mldeploy, by `mlflow models serve` (default
// settings, and with 2 workers) and by a minimal node:http + onnxruntime-node server, each driven
// by the same load generator at concurrency 1 and 16 on loopback, in one run.
//
// Usage: npx node bench/serving/run.mjs [--seconds 10]   (after ./scripts/setup)
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, numberOption } from '../lib/load.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const model = path.join(root, 'fixtures', 'models', 'onnx-iris');
const venvBin = path.join(root, '.venv', 'bin');
const seconds = numberOption('--seconds', 10);
const body = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function start(name, command, args) {
  const port = await freePort();
  const child = spawn(command, args(port), {
    env: { ...process.env, PATH: `${venvBin}:${process.env.PATH}` },
    stdio: 'ignore',
    detached: true,
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    name,
    url: `http://127.0.0.1:${port}/invocations`,
    stop: () => new Promise((r) => (child.once('exit', r), process.kill(-child.pid, 'SIGTERM'))),
  };
}

const servers = [
  [
    'mldeploy',
    process.execPath,
    (p) => [path.join(root, 'packages', 'mldeploy', 'bin', 'mldeploy.js'), 'models', 'serve', '-m', model, '-p', String(p)],
  ],
  [
    'mlflow (1 worker)',
    path.join(venvBin, 'mlflow'),
    (p) => ['models', 'serve', '-m', model, '-p', String(p), '-h', '127.0.0.1', '--env-manager', 'local'],
  ],
  [
    'mlflow (2 workers)',
    path.join(venvBin, 'mlflow'),
    (p) => ['models', 'serve', '-m', model, '-p', String(p), '-h', '127.0.0.1', '--env-manager', 'local', '-w', '2'],
  ],
  [
    'minimal node:http + ORT',
    process.execPath,
    (p) => [path.join(root, 'bench', 'serving', 'minimal-server.mjs'), path.join(model, 'model.onnx'), String(p)],
  ],
];

const results = {};
for (const [name, command, args] of servers) {
  const server = await start(name, command, args);
  results[name] = {};
  for (const concurrency of [1, 16]) {
    results[name][concurrency] = await load({ url: server.url, body, concurrency, seconds });
    const r = results[name][concurrency];
    console.error(
      `${name.padEnd(24)} c=${String(concurrency).padEnd(3)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  errors ${r.errors}`,
    );
  }
  await server.stop();
}

const lines = [
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ${seconds} s per point after 2 s warm-up`,
  '',
];
lines.push('| server | concurrency | req/s | p50 ms | p99 ms | errors |', '|---|---|---|---|---|---|');
for (const [name, byC] of Object.entries(results))
  for (const [c, r] of Object.entries(byC))
    lines.push(`| ${name} | ${c} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.errors} |`);
lines.push('', '| ratio | c=1 | c=16 |', '|---|---|---|');
const ratio = (a, b, c) => (results[a][c].rps / results[b][c].rps).toFixed(2);
lines.push(
  `| mldeploy / mlflow (1 worker) | ${ratio('mldeploy', 'mlflow (1 worker)', 1)}× | ${ratio('mldeploy', 'mlflow (1 worker)', 16)}× |`,
);
lines.push(
  `| mldeploy / mlflow (2 workers) | ${ratio('mldeploy', 'mlflow (2 workers)', 1)}× | ${ratio('mldeploy', 'mlflow (2 workers)', 16)}× |`,
);
lines.push(
  `| mldeploy / minimal server | ${ratio('mldeploy', 'minimal node:http + ORT', 1)}× | ${ratio('mldeploy', 'minimal node:http + ORT', 16)}× |`,
);
console.log(lines.join('\n'));
