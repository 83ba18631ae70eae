// A closed-loop HTTP load generator with microsecond latencies: `concurrency` clients on
// keep-alive connections, each sending its next request when the last one answered.
// (autocannon reports latency in whole milliseconds, too coarse for sub-millisecond servers.)
import http from 'node:http';

/**
 * Drives POST `url` with `body` for `seconds` after `warmupSeconds`; returns requests/s and
 * latency percentiles in milliseconds. Any non-200 answer counts as an error.
 */
export async function load({ url, body, contentType = 'application/json', concurrency, seconds, warmupSeconds = 2 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const payload = Buffer.from(body);
  const send = () =>
    new Promise((resolve) => {
      const started = process.hrtime.bigint();
      const req = http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': contentType, 'content-length': payload.length } },
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
  const client = async () => {
    while (Date.now() < end) {
      const { ok, micros } = await send();
      measuring ||= Date.now() >= warmupEnd;
      if (!measuring) continue;
      if (ok) latencies.push(micros);
      else errors += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => (latencies.length === 0 ? NaN : latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] / 1000);
  return { requests: latencies.length, errors, rps: latencies.length / seconds, p50: pct(50), p99: pct(99) };
}
