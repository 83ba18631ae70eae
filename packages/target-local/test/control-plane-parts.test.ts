import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MlDeployError } from '@mldeploy/core';
import { ControlPlaneApi } from '../src/local-target/control-plane-api.js';
import { DeploymentLogs } from '../src/server/deployment-logs.js';
import { recordWorkerLine } from '../src/server/log-record.js';
import { createLogger } from '../src/server/logger.js';
import { RotatingFile, logRotationFrom, tailLines } from '../src/server/rotating-file.js';
import { tempDir } from '../../../test/support/temp.js';

describe('size-rotated log files', () => {
  it('rotate past the limit, keep the given number of old files, and read back across them', async () => {
    const file = path.join(tempDir('rotate'), 'iris.log');
    const log = new RotatingFile(file, { maxBytes: 100, keep: 2 });
    for (let i = 0; i < 20; i += 1) log.write(`line ${String(i).padStart(2, '0')} ${'x'.repeat(20)}\n`);
    log.close();
    // 30 bytes a line: three lines a file; the newest 3 files are kept, older lines are gone.
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    expect(readFileSync(`${file}.1`, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
    expect(existsSync(`${file}.2`)).toBe(true);
    expect(existsSync(`${file}.3`)).toBe(false);
    const tail = await tailLines(file, 6, 2);
    expect(tail.map((l) => l.slice(0, 7))).toEqual(['line 14', 'line 15', 'line 16', 'line 17', 'line 18', 'line 19']);
    expect(await tailLines(file, 100, 2)).toHaveLength(8);
  });

  it('take their limit from MLDEPLOY_LOG_MAX_BYTES, refusing nonsense', () => {
    expect(logRotationFrom({}).maxBytes).toBe(10 * 1024 * 1024);
    expect(logRotationFrom({ MLDEPLOY_LOG_MAX_BYTES: '4096' })).toEqual({ maxBytes: 4096, keep: 3 });
    expect(() => logRotationFrom({ MLDEPLOY_LOG_MAX_BYTES: '10k' })).toThrow(/MLDEPLOY_LOG_MAX_BYTES must be a number of bytes/);
  });
});

describe('deployment logs', () => {
  it('are JSON records with a level per event; worker records keep theirs; a rotated log still reads back whole', async () => {
    const dir = tempDir('deployment-logs');
    const logs = new DeploymentLogs(dir, 'info', { maxBytes: 2048, keep: 3 });
    const replica = logs.replica({ deployment: 'iris', revision: 2, replica: 1 });
    replica.info({ event: 'ready' }, 'serving on port 1234');
    recordWorkerLine(replica, 'plain output', 'stdout');
    recordWorkerLine(replica, 'Traceback (most recent call last):', 'stderr');
    recordWorkerLine(replica, JSON.stringify({ level: 'error', time: 'x', event: 'failed', message: 'model broke' }), 'stdout');
    recordWorkerLine(replica, JSON.stringify({ level: 'debug', message: 'below the level' }), 'stdout');
    recordWorkerLine(replica, '{"not": "a record"}', 'stdout');
    const entries = await logs.tail('iris', 10);
    expect(entries.map((e) => [e.level, e.event, e.message])).toEqual([
      ['info', 'ready', 'serving on port 1234'],
      ['info', 'stdout', 'plain output'],
      ['warn', 'stderr', 'Traceback (most recent call last):'],
      ['error', 'failed', 'model broke'],
      ['info', 'stdout', '{"not": "a record"}'],
    ]);
    expect(entries[0]).toMatchObject({ deployment: 'iris', revision: 2, replica: 1 });
    expect(Date.parse(entries[0]!.time)).not.toBeNaN();
    for (let i = 0; i < 100; i += 1) replica.info({ event: 'stdout' }, `line ${i}`);
    expect(existsSync(path.join(dir, 'iris.log.1'))).toBe(true);
    expect((await logs.tail('iris', 40)).map((e) => e.message)).toEqual(Array.from({ length: 40 }, (_, i) => `line ${i + 60}`));
    logs.closeAll();
  });

  it('reads lines from before levels existed', async () => {
    const dir = tempDir('old-logs');
    const file = new RotatingFile(path.join(dir, 'old.log'));
    file.write(
      '{"time":"2026-01-01T00:00:00.000Z","deployment":"old","revision":1,"replica":0,"event":"ready","message":"up"}\nnot json\n',
    );
    file.close();
    expect(await new DeploymentLogs(dir).tail('old', 5)).toEqual([
      { time: '2026-01-01T00:00:00.000Z', level: 'info', deployment: 'old', revision: 1, replica: 0, event: 'ready', message: 'up' },
      { time: '', level: 'info', deployment: 'old', revision: 0, replica: 0, event: 'stdout', message: 'not json' },
    ]);
  });

  it('the control plane log has level words, ISO times and the message under "message"', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (line: string) => void lines.push(line) }, { component: 'control-plane' }, 'info');
    log.debug('hidden');
    log.warn('careful');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { level: 'warn', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string, component: 'control-plane', message: 'careful' },
    ]);
  });
});

describe('the control-plane API client', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
  });

  async function serve(
    status: number,
    body: unknown,
  ): Promise<{ api: ControlPlaneApi; requests: { method: string; url: string; type: string | undefined; body: string }[] }> {
    const requests: { method: string; url: string; type: string | undefined; body: string }[] = [];
    server = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        requests.push({ method: request.method ?? '', url: request.url ?? '', type: request.headers['content-type'], body: text });
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { api: new ControlPlaneApi(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), requests };
  }

  it('builds paths, queries and bodies from the route table', async () => {
    const { api, requests } = await serve(200, { name: 'a b', entries: [] });
    expect(await api.call('logs', { params: { name: 'a b' }, query: { tail: '5' } })).toEqual({ name: 'a b', entries: [] });
    expect(requests).toEqual([{ method: 'GET', url: '/api/v1/deployments/a%20b/logs?tail=5', type: undefined, body: '' }]);
  });

  it('reads log entries of a control plane from before levels (still running after an upgrade)', async () => {
    const entry = { time: 't', deployment: 'x', revision: 1, replica: 0, event: 'ready', message: 'up' };
    const { api } = await serve(200, { name: 'x', entries: [entry] });
    expect((await api.call('logs', { params: { name: 'x' }, query: {} })).entries).toEqual([{ ...entry, level: 'info' }]);
  });

  it('refuses an answer that does not match the schema, instead of trusting it', async () => {
    const { api } = await serve(200, { name: 'x', lines: ['old shape'] });
    const error = (await api.call('logs', { params: { name: 'x' }, query: {} }).catch((e: unknown) => e)) as MlDeployError;
    expect(error).toBeInstanceOf(MlDeployError);
    expect(error.code).toBe('INTERNAL_ERROR');
    expect(error.message).toMatch(
      /answered GET \/api\/v1\/deployments\/:name\/logs with a body this client does not understand: entries: /,
    );
  });

  it('turns error answers back into the typed errors', async () => {
    const { api } = await serve(405, { error_code: 'METHOD_NOT_ALLOWED', message: 'no' });
    await expect(api.shutdown()).rejects.toMatchObject({ code: 'METHOD_NOT_ALLOWED', message: 'no' });
    expect(await api.health()).toBeUndefined();
  });
});
