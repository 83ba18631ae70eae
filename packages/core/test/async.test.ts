import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlDeployError, httpRequest, isTransient, parseRetryAfter, pollUntil, retry } from '@mldeploy/core';

const unavailable = (): MlDeployError => new MlDeployError('TEMPORARILY_UNAVAILABLE', 'down');

describe('retry', () => {
  it('retries transient failures with full jitter below the exponential bound, then succeeds', async () => {
    const pauses: number[] = [];
    let calls = 0;
    const result = await retry(
      () => {
        calls += 1;
        return calls < 4 ? Promise.reject(unavailable()) : Promise.resolve('ok');
      },
      { retries: 5, baseDelayMs: 100, sleep: (ms) => Promise.resolve(void pauses.push(ms)), random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(4);
    expect(pauses).toEqual([50, 100, 200]);
  });

  it('gives up after the last retry with the last error, and never retries a final error', async () => {
    const pauses: number[] = [];
    const sleep = (ms: number): Promise<void> => Promise.resolve(void pauses.push(ms));
    await expect(retry(() => Promise.reject(unavailable()), { retries: 2, baseDelayMs: 10, sleep })).rejects.toThrow('down');
    expect(pauses).toHaveLength(2);
    let calls = 0;
    const final = new MlDeployError('INVALID_PARAMETER_VALUE', 'bad');
    await expect(retry(() => Promise.reject(final).finally(() => (calls += 1)), { retries: 5, baseDelayMs: 10, sleep })).rejects.toBe(
      final,
    );
    expect(calls).toBe(1);
  });

  it('classifies 429 and 5xx as transient, 4xx as final', () => {
    expect(isTransient(new MlDeployError('BAD_REQUEST', 'x', { details: { status: 503 } }))).toBe(true);
    expect(isTransient(new MlDeployError('REQUEST_LIMIT_EXCEEDED', 'x', { details: { status: 429 } }))).toBe(true);
    expect(isTransient(new MlDeployError('RESOURCE_DOES_NOT_EXIST', 'x', { details: { status: 404 } }))).toBe(false);
    expect(isTransient(new Error('plain'))).toBe(false);
  });

  describe("a real server's Retry-After", () => {
    let server: Server;
    let url: string;
    let hits = 0;
    beforeAll(async () => {
      server = createServer((request, response) => {
        hits += 1;
        const wait = request.url === '/long' ? '120' : '2';
        if (hits % 2 === 1)
          response
            .writeHead(503, { 'retry-after': wait, 'content-type': 'application/json' })
            .end('{"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"}');
        else response.writeHead(200).end('fine');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('waits what the server asked for instead of the backoff', async () => {
      hits = 0;
      const pauses: number[] = [];
      const response = await retry(() => httpRequest(`${url}/short`, { timeoutMs: 5_000 }), {
        retries: 3,
        baseDelayMs: 10,
        sleep: (ms) => Promise.resolve(void pauses.push(ms)),
      });
      expect(response.text).toBe('fine');
      expect(pauses).toEqual([2_000]);
    });

    it('does not retry when the server asks for a longer pause than allowed', async () => {
      hits = 0;
      const pauses: number[] = [];
      const error = (await retry(() => httpRequest(`${url}/long`, { timeoutMs: 5_000 }), {
        retries: 3,
        baseDelayMs: 10,
        maxDelayMs: 30_000,
        sleep: (ms) => Promise.resolve(void pauses.push(ms)),
      }).catch((e: unknown) => e)) as MlDeployError;
      expect(error.code).toBe('TEMPORARILY_UNAVAILABLE');
      expect(error.details).toMatchObject({ status: 503, retry_after_ms: 120_000 });
      expect(pauses).toEqual([]);
    });
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7_000);
    const now = Date.parse('2026-11-28T10:00:00Z');
    expect(parseRetryAfter('Sat, 28 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sat, 28 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('never throws, and gives a non-negative number or nothing, for any header value', () => {
    fc.assert(
      fc.property(fc.string(), (header) => {
        const value = parseRetryAfter(header);
        return value === undefined || (Number.isFinite(value) && value >= 0);
      }),
    );
  });
});

describe('pollUntil', () => {
  it('returns the first defined value, and a check that throws ends the wait', async () => {
    let n = 0;
    expect(await pollUntil(() => (++n >= 3 ? n : undefined), { timeoutMs: 5_000, minDelayMs: 1, onTimeout: () => new Error('late') })).toBe(
      3,
    );
    await expect(
      pollUntil(() => Promise.reject(new Error('exited')), { timeoutMs: 5_000, onTimeout: () => new Error('late') }),
    ).rejects.toThrow('exited');
  });

  it('throws the caller’s error at the deadline', async () => {
    await expect(
      pollUntil(() => undefined, { timeoutMs: 30, minDelayMs: 5, onTimeout: () => new Error('nothing came within 30 ms') }),
    ).rejects.toThrow('nothing came within 30 ms');
  });
});
