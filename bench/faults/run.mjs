#!/usr/bin/env node
// bench/faults: recovery from faults on the local target, under load.
// 1. kill one of two replicas: failed requests on the deployment's own port and through the
//    gateway (which retries), and time until it is back;
// 2. kill the only replica: time until requests succeed again;
// 3. kill the control plane (SIGKILL) and start it again: failed requests on the deployment's
//    own port and on an endpoint (through the gateway process), both of which the data plane
//    serves on (0 expected), and a check that every deployment and endpoint came back with the
//    same workers and the same gateway process (adopted);
// 4. time from `create` to the first prediction, with the control plane cold and warm.
// Usage: npx node bench/faults/run.mjs
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { openLoad } from '../lib/load.mjs';
import { bin, freshHome, irisBody, irisModel, root } from '../local/cli.mjs';

const exec = promisify(execFile);
const cli = async (local, ...args) =>
  JSON.parse(
    (await exec(process.execPath, [bin, ...args.slice(0, 1), '-t', local.target, ...args.slice(1), '--json'], { cwd: root })).stdout,
  );

async function until(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 100)) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

const firstSuccessAfter = (samples, t) => samples.find((s) => s.ok && s.at >= t)?.at;
const local = freshHome('faults');
try {
  await cli(local, 'create', '--name', 'pair', '-m', irisModel, '-C', 'replicas=2');
  const solo = await cli(local, 'create', '--name', 'solo', '-m', irisModel);
  await cli(local, 'create-endpoint', '--endpoint', 'front', '-C', 'traffic={"pair": 100}');
  const pair = await cli(local, 'get', '--name', 'pair');

  const failed = (samples) => `${samples.filter((s) => !s.ok).length} failed of ${samples.length}`;

  // 1. One of two replicas dies.
  let run = openLoad({ url: pair.url, body: irisBody, concurrency: 4 });
  let viaGateway = openLoad({ url: pair.gateway_url, body: irisBody, concurrency: 4 });
  await new Promise((r) => setTimeout(r, 2_000));
  let killedAt = run.elapsedMs();
  process.kill(pair.workers[0].pid, 'SIGKILL');
  await until('the replica to come back', async () => (await cli(local, 'get', '--name', 'pair')).live_replicas === 2);
  const backAt = run.elapsedMs();
  await new Promise((r) => setTimeout(r, 1_000));
  let samples = await run.stop();
  let gatewaySamples = await viaGateway.stop();
  console.log(
    `kill 1 of 2 replicas: own port ${failed(samples)}, gateway ${failed(gatewaySamples)}; replica back after ${(backAt - killedAt).toFixed(0)} ms (restarts: ${(await cli(local, 'get', '--name', 'pair')).restarts})`,
  );

  // 2. The only replica dies.
  run = openLoad({ url: solo.url, body: irisBody, concurrency: 4 });
  await new Promise((r) => setTimeout(r, 2_000));
  killedAt = run.elapsedMs();
  process.kill(solo.workers[0].pid, 'SIGKILL');
  await until('solo to serve again', async () => (await cli(local, 'get', '--name', 'solo')).live_replicas === 1);
  await new Promise((r) => setTimeout(r, 1_000));
  samples = await run.stop();
  const soloBack = firstSuccessAfter(
    samples.filter((s) => s.at > killedAt + 1 && s.ok && samples.some((f) => !f.ok && f.at > killedAt && f.at < s.at)),
    killedAt,
  );
  console.log(
    `kill the only replica: ${samples.filter((s) => !s.ok).length} failed of ${samples.length} requests; serving again ${soloBack === undefined ? 'without a failure' : `after ${(soloBack - killedAt).toFixed(0)} ms`}`,
  );

  // 3. The control plane dies.
  const { pid } = local.serverInfo();
  const before = await cli(local, 'get', '--name', 'pair');
  const gatewayBefore = local.gatewayInfo().pid;
  run = openLoad({ url: pair.url, body: irisBody, concurrency: 4 });
  viaGateway = openLoad({ url: `${local.serverInfo().url}/endpoints/front/invocations`, body: irisBody, concurrency: 4 });
  await new Promise((r) => setTimeout(r, 2_000));
  killedAt = run.elapsedMs();
  process.kill(pid, 'SIGKILL');
  // A second of outage for all to see, then the next command brings the control plane back.
  await new Promise((r) => setTimeout(r, 1_000));
  const restartAt = run.elapsedMs();
  await exec(process.execPath, [bin, 'server', 'start', '--home', local.home], { cwd: root });
  const readyAt = run.elapsedMs();
  await new Promise((r) => setTimeout(r, 1_000));
  samples = await run.stop();
  gatewaySamples = await viaGateway.stop();
  const list = await cli(local, 'list');
  const endpoints = await cli(local, 'list-endpoints');
  const after = list.find((d) => d.name === 'pair');
  const adopted = JSON.stringify(after.workers.map((w) => w.pid).sort()) === JSON.stringify(before.workers.map((w) => w.pid).sort());
  const gatewayAdopted = local.gatewayInfo().pid === gatewayBefore;
  console.log(
    `kill -9 the control plane, 1 s later 'mldeploy server start' (ready ${(readyAt - restartAt).toFixed(0)} ms after it): deployment's own port ${failed(samples)}; ` +
      `endpoint (gateway process) ${failed(gatewaySamples)}; ` +
      `back: ${list.map((d) => `${d.name}=${d.state}`).join(', ')}; endpoints: ${endpoints.map((e) => e.name).join(', ')}; workers adopted: ${adopted}; gateway adopted: ${gatewayAdopted}`,
  );
  if (
    list.length !== 2 ||
    list.some((d) => d.state !== 'ready') ||
    endpoints.length !== 1 ||
    !adopted ||
    !gatewayAdopted ||
    samples.some((s) => !s.ok) ||
    gatewaySamples.some((s) => !s.ok)
  )
    process.exitCode = 1;
} finally {
  local.stop();
}

// 4. create → first prediction.
for (const phase of ['cold (control plane not running)', 'warm (control plane running)']) {
  const fresh = freshHome('create');
  try {
    if (phase.startsWith('warm')) await exec(process.execPath, [bin, 'server', 'start', '--home', fresh.home], { cwd: root });
    const started = Date.now();
    const created = await cli(fresh, 'create', '--name', 'iris', '-m', irisModel);
    const response = await fetch(created.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: irisBody });
    if (!response.ok) throw new Error('first prediction failed');
    console.log(`create to first prediction, ${phase}: ${Date.now() - started} ms (CLI process included)`);
  } finally {
    fresh.stop();
  }
}
