#!/usr/bin/env node
// bench/rollout: continuous load on a local deployment while 100 updates run, one after another
// (each starts a new revision, switches traffic, drains the old). Counts failed requests
// (goal: 0) and compares p99 during the swaps with steady state measured just before.
// Usage: npx node bench/rollout/run.mjs [--updates 100] [--concurrency 4]
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { numberOption, openLoad, percentile } from '../lib/load.mjs';
import { bin, freshHome, irisBody, irisModel, root } from '../local/cli.mjs';

const updates = numberOption('--updates', 100);
const concurrency = numberOption('--concurrency', 4);
const local = freshHome('rollout');
try {
  const { url } = local.mldeploy('create', '--name', 'iris', '-m', irisModel);
  const run = openLoad({ url, body: irisBody, concurrency });
  await new Promise((r) => setTimeout(r, 7_000));
  const swapsStart = run.elapsedMs();
  const durations = [];
  for (let i = 0; i < updates; i += 1) {
    const started = Date.now();
    // Asynchronously: the load generator shares this process's event loop.
    await promisify(execFile)(process.execPath, [bin, 'update', '-t', local.target, '--name', 'iris', '-C', `timeout=${60 + (i % 2)}`], {
      cwd: root,
    });
    durations.push(Date.now() - started);
  }
  const swapsEnd = run.elapsedMs();
  const samples = await run.stop();
  const steady = samples.filter((s) => s.at >= 2_000 && s.at < swapsStart);
  const during = samples.filter((s) => s.at >= swapsStart && s.at < swapsEnd);
  const failed = samples.filter((s) => !s.ok).length;
  const revision = local.mldeploy('get', '--name', 'iris').revision;
  console.log(
    `updates: ${updates} (revision now ${revision}); each took p50 ${percentile(durations, 50)} ms, max ${Math.max(...durations)} ms (CLI process included)`,
  );
  console.log(`requests: ${samples.length} at concurrency ${concurrency}; failed: ${failed}`);
  console.log(
    `steady state: ${steady.length} requests, p50 ${percentile(
      steady.map((s) => s.ms),
      50,
    ).toFixed(3)} ms, p99 ${percentile(
      steady.map((s) => s.ms),
      99,
    ).toFixed(3)} ms`,
  );
  console.log(
    `during swaps: ${during.length} requests, p50 ${percentile(
      during.map((s) => s.ms),
      50,
    ).toFixed(3)} ms, p99 ${percentile(
      during.map((s) => s.ms),
      99,
    ).toFixed(3)} ms, max ${Math.max(...during.map((s) => s.ms)).toFixed(1)} ms`,
  );
  if (failed > 0) process.exitCode = 1;
} finally {
  local.stop();
}
