// A closed-loop HTTP load generator with microsecond latencies: `concurrency` clients on
// keep-alive connections, each sending its next request when the last one answered.
// (autocannon reports latency in whole milliseconds, too coarse for sub-millisecond servers.)
import http from 'node:http';

/**
 * Drives POST `url` with `body` for `seconds` after `warmupSeconds`; returns requests/s and
 * latency percentiles in milliseconds. Any non-200 answer counts as an error. `url` may be a
 * list: client k then sends to `url[k % length]` (one connection per client).
 */
export async function load({ url, body, contentType = 'application/json', concurrency, seconds, warmupSeconds = 2 }) {
  const targets = (Array.isArray(url) ? url : [url]).map((u) => new URL(u));
  const agents = targets.map(() => new http.Agent({ keepAlive: true, maxSockets: concurrency }));
  const payload = Buffer.from(body);
  const send = (k) =>
    new Promise((resolve) => {
      const target = targets[k % targets.length];
      const agent = agents[k % agents.length];
      const started = process.hrtime.bigint();
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          agent,
          headers: { 'content-type': contentType, 'content-length': payload.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ ok: res.statusCode === 200, micros: Number(process.hrtime.bigint() - started) / 1000 }));
        },
      );
      req.on('error', () => resolve({ ok: false, micros: Number(process.hrtime.bigint() - started) / 1000 }));
      req.end(payload);
    });

  const latencies = [];
  let errors = 0;
  let measuring = false;
  const warmupEnd = Date.now() + warmupSeconds * 1000;
  const end = warmupEnd + seconds * 1000;
  const client = async (_, k) => {
    while (Date.now() < end) {
      const { ok, micros } = await send(k);
      measuring ||= Date.now() >= warmupEnd;
      if (!measuring) continue;
      if (ok) latencies.push(micros);
      else errors += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  for (const agent of agents) agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    latencies.length === 0 ? NaN : latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] / 1000;
  return { requests: latencies.length, errors, rps: latencies.length / seconds, p50: pct(50), p99: pct(99), latencies };
}

/**
 * Runs closed-loop load until `stop()` is called; every answer is recorded as
 * `{ at: ms since start, ms: latency, ok }`. For benchmarks that change things under load.
 */
export function openLoad({ url, body, contentType = 'application/json', concurrency }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const payload = Buffer.from(body);
  const origin = process.hrtime.bigint();
  const samples = [];
  let running = true;
  const send = () =>
    new Promise((resolve) => {
      const started = process.hrtime.bigint();
      const done = (ok) => {
        const now = process.hrtime.bigint();
        samples.push({ at: Number(started - origin) / 1e6, ms: Number(now - started) / 1e6, ok });
        resolve();
      };
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          agent,
          headers: { 'content-type': contentType, 'content-length': payload.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode === 200));
        },
      );
      req.on('error', () => done(false));
      req.end(payload);
    });
  const clients = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (running) await send();
    }),
  );
  return {
    samples,
    elapsedMs: () => Number(process.hrtime.bigint() - origin) / 1e6,
    async stop() {
      running = false;
      await clients;
      agent.destroy();
      return samples;
    },
  };
}

/** The p-th percentile (0–100) of a list of numbers. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A numeric command-line option `--name N`, or `fallback` when it is absent. */
export function numberOption(name, fallback) {
  const at = process.argv.indexOf(name);
  const value = at < 0 ? undefined : Number(process.argv[at + 1]);
  return value === undefined || Number.isNaN(value) ? fallback : value;
}
