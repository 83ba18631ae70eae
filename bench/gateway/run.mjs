#!/usr/bin/env node
// bench/gateway: the iris ONNX model on the local target, driven through its URL (the
// deployment's own port, answered by its replica), through the gateway
// (/deployments/iris/invocations on the control plane's port) and directly at its worker's own
// port, in the same run, with the same load generator. Prints requests/s, p50 and p99 for each
// and the cost per request of the URL and of the gateway over direct. The paths take turns, in
// another order each round, and each figure is the median of the rounds: on a small machine the
// path measured first is otherwise favoured or penalised by what ran before it.
// Usage: npx node bench/gateway/run.mjs [--seconds 5] [--rounds 3]
import os from 'node:os';
import { load, numberOption } from '../lib/load.mjs';
import { freshHome, irisBody, irisModel } from '../local/cli.mjs';

const seconds = numberOption('--seconds', 5);
const rounds = numberOption('--rounds', 3);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const local = freshHome('gateway');
try {
  const deployment = local.mldeploy('create', '--name', 'iris', '-m', irisModel);
  const targets = {
    url: deployment.url,
    gateway: deployment.gateway_url,
    direct: `http://127.0.0.1:${deployment.workers[0].port}/invocations`,
  };
  const runs = {};
  const names = Object.keys(targets);
  for (const concurrency of [1, 16]) {
    for (let round = 0; round < rounds; round += 1) {
      for (let i = 0; i < names.length; i += 1) {
        const name = names[(round + i) % names.length];
        (runs[`${name} c=${concurrency}`] ??= []).push(await load({ url: targets[name], body: irisBody, concurrency, seconds }));
      }
    }
  }
  const results = Object.fromEntries(
    Object.entries(runs).map(([key, list]) => [
      key,
      {
        rps: median(list.map((r) => r.rps)),
        p50: median(list.map((r) => r.p50)),
        p99: median(list.map((r) => r.p99)),
        errors: list.reduce((sum, r) => sum + r.errors, 0),
      },
    ]),
  );
  console.log(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}; medians of ${rounds} rounds of ${seconds} s per point after 2 s warm-up\n`,
  );
  console.log('| path | concurrency | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|');
  for (const key of Object.keys(results).sort()) {
    const r = results[key];
    const [name, c] = key.split(' c=');
    console.log(`| ${name} | ${c} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.errors} |`);
  }
  for (const c of [1, 16]) {
    const d = results[`direct c=${c}`];
    for (const name of ['url', 'gateway']) {
      const r = results[`${name} c=${c}`];
      console.log(
        `\nc=${c}: ${name}/direct throughput ${(r.rps / d.rps).toFixed(2)}×; added p50 ${((r.p50 - d.p50) * 1000).toFixed(0)} µs, added p99 ${((r.p99 - d.p99) * 1000).toFixed(0)} µs`,
      );
    }
  }
} finally {
  local.stop();
}
