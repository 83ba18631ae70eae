#!/usr/bin/env node
// bench/scale: does a deployment's URL scale with its replicas? For each replica count, the iris
// ONNX model is driven in the same run, by the same load processes, through
//   - its URL (the deployment's own port, where every replica accepts connections: SO_REUSEPORT),
//   - the gateway (the control plane's port, /deployments/iris/invocations),
//   - straight at the replicas' own ports (the load spread over them by the load generator),
// and the ratio to "direct" is printed. Several load processes, so that the load generator is
// not the limit on a many-core machine.
// Usage: npx node bench/scale/run.mjs [--seconds 6] [--processes 4] [--connections 16] [--replicas 1,2,4,8]
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { numberOption } from '../lib/load.mjs';
import { freshHome, irisBody, irisModel } from '../local/cli.mjs';

const seconds = numberOption('--seconds', 6);
const processes = numberOption('--processes', Math.max(2, Math.floor(os.cpus().length / 4)));
const connections = numberOption('--connections', 16);
const at = process.argv.indexOf('--replicas');
const replicaCounts = (at < 0 ? '1,2,4,8' : process.argv[at + 1]).split(',').map(Number);
const loadProcess = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load-process.mjs');

/** Runs `processes` load processes at once against `urls`; merges their results. */
async function drive(urls) {
  const runs = Array.from(
    { length: processes },
    (_, i) =>
      new Promise((resolve, reject) => {
        // Each process starts at another replica, so that together they cover all of them.
        const mine = urls.map((_, k) => urls[(i + k) % urls.length]);
        const child = spawn(
          process.execPath,
          [loadProcess, JSON.stringify({ url: mine, body: irisBody, concurrency: connections, seconds })],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        let out = '';
        child.stdout.on('data', (chunk) => (out += chunk));
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load process exited with ${code}`))));
      }),
  );
  const results = await Promise.all(runs);
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] / 1000;
  return {
    rps: results.reduce((sum, r) => sum + r.rps, 0),
    p50: pct(50),
    p99: pct(99),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
  };
}

const local = freshHome('scale');
const rows = [];
try {
  local.mldeploy('create', '--name', 'iris', '-m', irisModel);
  for (const replicas of replicaCounts) {
    const deployment = local.mldeploy('update', '--name', 'iris', '-C', `replicas=${replicas}`);
    const paths = {
      url: [deployment.url],
      direct: deployment.workers.map((w) => `http://127.0.0.1:${w.port}/invocations`),
      gateway: [deployment.gateway_url],
    };
    // Another order at each replica count, so that no path is always measured first.
    const names = Object.keys(paths);
    const measured = {};
    for (let i = 0; i < names.length; i += 1) {
      const name = names[(replicaCounts.indexOf(replicas) + i) % names.length];
      measured[name] = await drive(paths[name]);
    }
    rows.push({ replicas, ...measured });
    console.error(
      `replicas=${replicas}: url ${measured.url.rps.toFixed(0)}, direct ${measured.direct.rps.toFixed(0)}, gateway ${measured.gateway.rps.toFixed(0)} req/s`,
    );
  }
} finally {
  local.stop();
}
console.log(
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}; ${processes} load processes × ${connections} connections, ${seconds} s per point after 2 s warm-up\n`,
);
console.log(
  '| replicas | URL req/s | direct req/s | gateway req/s | URL / direct | gateway / direct | p50 ms URL / direct / gateway | errors |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const errors = r.url.errors + r.direct.errors + r.gateway.errors;
  console.log(
    `| ${r.replicas} | ${r.url.rps.toFixed(0)} | ${r.direct.rps.toFixed(0)} | ${r.gateway.rps.toFixed(0)} | ${(r.url.rps / r.direct.rps).toFixed(2)}× | ${(r.gateway.rps / r.direct.rps).toFixed(2)}× | ${r.url.p50.toFixed(3)} / ${r.direct.p50.toFixed(3)} / ${r.gateway.p50.toFixed(3)} | ${errors} |`,
  );
}
