import { readFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { httpLimitsFrom } from '../src/server/http-limits.js';
import { IRIS, IRIS_INPUT, localHome } from './support.js';

const MiB = 1024 * 1024;
const LIMIT = 256 * MiB;
const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];

/** A body of `total` zero bytes, made as it is read (one 64 KiB buffer, reused); `produced` counts what was read. */
function zeros(total: number): Readable & { produced: number } {
  const chunk = Buffer.alloc(64 * 1024);
  const stream = new Readable({
    read() {
      const left = total - stream.produced;
      if (left <= 0) {
        this.push(null);
        return;
      }
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      stream.produced += piece.length;
      this.push(piece);
    },
  }) as Readable & { produced: number };
  stream.produced = 0;
  return stream;
}

/** A dataframe_split of `rows` iris rows (setosa and virginica in turn), made as it is read. */
function irisRows(rows: number): Readable {
  let row = 0;
  return new Readable({
    read() {
      if (row === 0) this.push('{"dataframe_split": {"columns": ["a", "b", "c", "d"], "data": [');
      if (row === rows) {
        this.push(']}}');
        this.push(null);
        return;
      }
      const lines: string[] = [];
      for (const end = Math.min(rows, row + 2000); row < end; row += 1) lines.push(JSON.stringify(row % 2 === 0 ? SETOSA : VIRGINICA));
      this.push(`${row > 2000 ? ',' : ''}${lines.join(',')}`);
    },
  });
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** Milliseconds from the request's start to the answer's headers. */
  readonly ms: number;
}

/**
 * POSTs `body` on a connection of its own (so that no pooled connection counts against a
 * connection cap) and resolves with the answer, even when the server closes the connection on a
 * body it refused while the body is still being sent.
 */
function post(url: string, body: Readable | string, headers: Record<string, string | number> = {}): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      answered = true;
      const ms = performance.now() - started;
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, ms }));
      res.on('error', reject);
    });
    // Once the answer has come, the server may reset a connection whose body it refused.
    req.on('error', (error) => (answered ? undefined : reject(error)));
    if (typeof body === 'string') req.end(body);
    else body.pipe(req);
  });
}

/** The resident memory of process `pid`, in bytes. */
function rssOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`No VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** The pid of the gateway process, which holds the bodies passing through. */
function gatewayPid(home: string): number {
  return (JSON.parse(readFileSync(`${home}/run/gateway.json`, 'utf8')) as { pid: number }).pid;
}

describe('the gateway streams request and answer bodies', () => {
  const local = localHome('streaming');
  let base: string;
  beforeAll(async () => {
    // A limit of 256 MiB: a gateway that buffered a body to the limit would show it in its RSS.
    for (const name of ['big', 'twin'])
      expect((await local.cli('create', '--name', name, '-m', IRIS, '-C', `max_body_size=${LIMIT}`)).code).toBe(0);
    const endpoint = await local.cli(
      'create-endpoint',
      '--endpoint',
      'front',
      '-C',
      'traffic={"big": 100}',
      '-C',
      'shadow={"deployment": "twin", "percent": 100}',
    );
    expect(endpoint.code, endpoint.stderr).toBe(0);
    base = local.gateway();
    expect((await post(`${base}/deployments/big/invocations`, JSON.stringify(IRIS_INPUT))).status).toBe(200);
  }, 120_000);
  afterAll(() => local.stop());

  it('two concurrent 1 GiB bodies are 413: at once from Content-Length, just past the limit when chunked; the RSS stays flat', async () => {
    const pid = gatewayPid(local.home);
    const before = rssOf(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
    const declared = zeros(1024 * MiB);
    const chunked = zeros(1024 * MiB);
    let producedAtAnswer = 0;
    try {
      const [withLength, withoutLength] = await Promise.all([
        post(`${base}/deployments/big/invocations`, declared, { 'content-length': 1024 * MiB }),
        post(`${base}/deployments/big/invocations`, chunked).then((answer) => {
          producedAtAnswer = chunked.produced;
          return answer;
        }),
      ]);
      expect(withLength.status).toBe(413);
      expect(withLength.ms).toBeLessThan(1_000);
      expect(withoutLength.status).toBe(413);
      expect(JSON.parse(withoutLength.body)).toMatchObject({
        error_code: 'REQUEST_TOO_LARGE',
        message: `The request body is larger than the limit of deployment "big" (${LIMIT} bytes)`,
      });
      // Refused once the limit had passed (socket buffers hold a few MiB more), not after 1 GiB.
      expect(producedAtAnswer).toBeGreaterThan(LIMIT);
      expect(producedAtAnswer).toBeLessThan(LIMIT + 64 * MiB);
    } finally {
      clearInterval(sampler);
      declared.destroy();
      chunked.destroy();
    }
    // V8 frees the Buffers a body passed through in batches, once some 64 MiB of them are
    // outstanding: the RSS saw-tooths by about that much, where buffering would add all 256 MiB.
    const after = rssOf(pid);
    expect(peak - before).toBeLessThan(96 * MiB);
    expect(after - before).toBeLessThan(96 * MiB);
    // And the deployment still serves.
    expect((await post(`${base}/deployments/big/invocations`, JSON.stringify(IRIS_INPUT))).status).toBe(200);
  });

  it('a worker refusing a streamed body from its headers (415) is answered at once, and the rest is not sent to it', async () => {
    const body = zeros(1024 * MiB);
    let producedAtAnswer = 0;
    const answer = await post(`${base}/deployments/big/invocations`, body, { 'content-type': 'text/plain' }).finally(() => {
      producedAtAnswer = body.produced;
      body.destroy();
    });
    expect(answer.status).toBe(415);
    expect(JSON.parse(answer.body)).toMatchObject({ error_code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(producedAtAnswer).toBeLessThan(64 * MiB);
    expect((await post(`${base}/deployments/big/invocations`, JSON.stringify(IRIS_INPUT))).status).toBe(200);
  });

  it('a 5 MB chunked dataframe_split reaches the worker and every row is predicted, directly and through an endpoint with a shadow', async () => {
    const rows = 300_000;
    for (const route of ['/deployments/big/invocations', '/endpoints/front/invocations']) {
      const answer = await post(`${base}${route}`, irisRows(rows));
      expect(answer.status, answer.body.slice(0, 500)).toBe(200);
      expect(answer.headers['x-mldeploy-deployment']).toBe('big');
      const labels = (JSON.parse(answer.body) as { predictions: { label: number[] } }).predictions.label;
      expect(labels).toHaveLength(rows);
      expect(labels.every((label, i) => label === (i % 2 === 0 ? 0 : 2))).toBe(true);
    }
    // A body small enough to keep is still mirrored to the shadow and compared.
    expect((await post(`${base}/endpoints/front/invocations`, JSON.stringify(IRIS_INPUT))).status).toBe(200);
    const view = await waitFor('the shadow comparison', async () => {
      const v = await local.json<{ shadow_comparison: { mirrored: number; errors: number; agreement_rate: number } }>(
        'get-endpoint',
        '--endpoint',
        'front',
      );
      return v.shadow_comparison.mirrored >= 1 ? v : undefined;
    });
    expect(view.shadow_comparison).toMatchObject({ errors: 0, agreement_rate: 1 });
  });
});

/**
 * Connects to `url`'s port, sends `prefix` at once and then `drip` one byte every 100 ms (a
 * slow-loris); resolves with what the server answered and when it closed the connection.
 */
function slowClient(url: string, prefix: string, drip: string): Promise<{ reply: string; ms: number }> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let reply = '';
    let sent = 0;
    const dripping = setInterval(() => {
      if (sent < drip.length) socket.write(drip[sent++]!);
    }, 100);
    socket.on('connect', () => socket.write(prefix));
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(dripping);
      resolve({ reply, ms: performance.now() - started });
    });
  });
}

/** A connection on which health has answered 200 and that stays open (keep-alive); rejects when the server closes it unanswered. */
function heldConnection(url: string): Promise<Socket> {
  const { host, hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let reply = '';
    socket.on('connect', () => socket.write(`GET /api/v1/health HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.startsWith('HTTP/1.1 200')) resolve(socket);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => reject(new Error(`closed before an answer (got ${JSON.stringify(reply)})`)));
  });
}

describe('the control plane bounds slow clients, connections and workers', () => {
  const local = localHome('limits');
  let base: string;
  beforeAll(async () => {
    const start = await runCli(['server', 'start', '--home', local.home], {
      env: { MLDEPLOY_HTTP_HEADERS_TIMEOUT_MS: '1000', MLDEPLOY_HTTP_REQUEST_TIMEOUT_MS: '3000', MLDEPLOY_HTTP_MAX_CONNECTIONS: '8' },
    });
    expect(start.code, start.stderr).toBe(0);
    expect((await local.cli('create', '--name', 'hang', '-m', IRIS, '-C', 'timeout=1')).code).toBe(0);
    base = local.gateway();
  }, 120_000);
  afterAll(() => local.stop());

  /** The API and the deployment still answer. */
  const healthy = async (): Promise<void> => {
    (await heldConnection(base)).destroy();
    expect((await post(`${base}/deployments/hang/invocations`, JSON.stringify(IRIS_INPUT))).status).toBe(200);
  };

  it('a client sending its headers byte by byte is cut off with 408 after the headers timeout', async () => {
    const { host } = new URL(base);
    const { reply, ms } = await slowClient(
      base,
      '',
      `POST /deployments/hang/invocations HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(ms).toBeGreaterThan(900);
    expect(ms).toBeLessThan(2_500);
    await healthy();
  });

  it('a client sending its body slowly is cut off with 408 after the request timeout, streamed or kept', async () => {
    const { host } = new URL(base);
    const head = `POST /deployments/hang/invocations HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n`;
    for (const [prefix, drip] of [
      // Over 64 KiB declared: streamed to the worker as it comes.
      [`${head}Content-Length: 100000\r\n\r\n`, ' '.repeat(100)],
      // Chunked and small: kept by the gateway until it ends.
      [`${head}Transfer-Encoding: chunked\r\n\r\n`, '1\r\n \r\n'.repeat(20)],
    ] as const) {
      const { reply, ms } = await slowClient(base, prefix, drip);
      expect(reply).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(ms).toBeGreaterThan(2_900);
      expect(ms).toBeLessThan(4_500);
    }
    await healthy();
  });

  it('connections over the cap are closed unserved until others close; the server stays healthy', async () => {
    const held: Socket[] = [];
    try {
      // A connection of an earlier test may still be closing: retry until 8 are held.
      while (held.length < 8) held.push(await waitFor('a connection under the cap', () => heldConnection(base).catch(() => undefined)));
      await expect(heldConnection(base)).rejects.toThrow(/closed before an answer \(got ""\)/);
      held.shift()!.destroy();
      held.push(await waitFor('a connection once one closed', () => heldConnection(base).catch(() => undefined)));
    } finally {
      for (const socket of held) socket.destroy();
    }
    await waitFor('the server to answer again', () =>
      post(`${base}/deployments/hang/invocations`, JSON.stringify(IRIS_INPUT)).catch(() => undefined),
    );
    await healthy();
  });

  it("a worker that does not answer gets 504 after the deployment's timeout plus a second; the deployment serves again once it does", async () => {
    const { workers } = await local.json<{ workers: { pid: number }[] }>('get', '--name', 'hang');
    const pid = workers[0]!.pid;
    process.kill(pid, 'SIGSTOP');
    let answer: Answer;
    try {
      answer = await post(`${base}/deployments/hang/invocations`, JSON.stringify(IRIS_INPUT));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(answer.status).toBe(504);
    expect(JSON.parse(answer.body)).toMatchObject({
      error_code: 'DEADLINE_EXCEEDED',
      message: 'Deployment "hang" did not answer within 2 s (its timeout setting plus 1 s)',
    });
    expect(answer.ms).toBeGreaterThan(1_900);
    expect(answer.ms).toBeLessThan(4_000);
    await healthy();
  });
});

describe('the HTTP limits settings', () => {
  it('default to 10 s headers, 120 s requests, 75 s keep-alive and 4096 connections; MLDEPLOY_HTTP_* change them', () => {
    expect(httpLimitsFrom({})).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 120_000,
      keepAliveTimeoutMs: 75_000,
      maxConnections: 4096,
    });
    expect(httpLimitsFrom({ MLDEPLOY_HTTP_MAX_CONNECTIONS: '16', MLDEPLOY_HTTP_HEADERS_TIMEOUT_MS: '' })).toMatchObject({
      maxConnections: 16,
      headersTimeoutMs: 10_000,
    });
  });

  it.each([
    [{ MLDEPLOY_HTTP_MAX_CONNECTIONS: 'lots' }, /MLDEPLOY_HTTP_MAX_CONNECTIONS must be a positive whole number; got "lots"/],
    [{ MLDEPLOY_HTTP_KEEP_ALIVE_TIMEOUT_MS: '0' }, /MLDEPLOY_HTTP_KEEP_ALIVE_TIMEOUT_MS must be a positive whole number; got "0"/],
    [
      { MLDEPLOY_HTTP_HEADERS_TIMEOUT_MS: '5000', MLDEPLOY_HTTP_REQUEST_TIMEOUT_MS: '1000' },
      /MLDEPLOY_HTTP_HEADERS_TIMEOUT_MS \(5000\) must not exceed MLDEPLOY_HTTP_REQUEST_TIMEOUT_MS \(1000\)/,
    ],
  ])('a control plane given %o does not start, and says why', async (env, message) => {
    const result = await runCli(['server', 'run', '--home', tempDir('http-limits')], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`INVALID_PARAMETER_VALUE: ${message.source}`));
  });
});
