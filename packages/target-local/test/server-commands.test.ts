import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';
import { fetchWithToken } from './support.js';

describe('mldeploy server start|status|stop', () => {
  it('starts a control plane once, reports it, and stops it; stopping again is harmless', async () => {
    const home = tempDir('server-commands');
    expect((await runCli(['server', 'status', '--home', home])).stdout).toBe(`No control plane is running for ${home}\n`);
    const start = await runCli(['server', 'start', '--home', home, '--json']);
    expect(start.code, start.stderr).toBe(0);
    const started = JSON.parse(start.stdout) as { url: string; pid: number };
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const again = JSON.parse((await runCli(['server', 'start', '--home', home, '--json'])).stdout) as { pid: number };
    expect(again.pid).toBe(started.pid);
    const status = JSON.parse((await runCli(['server', 'status', '--home', home, '--json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ running: true, url: started.url, pid: started.pid });
    expect(await (await fetch(`${started.url}/api/v1/health`)).json()).toMatchObject({ status: 'ok', pid: started.pid, home });
    expect((await runCli(['server', 'stop', '--home', home])).stdout).toBe(`Control plane for ${home} stopped\n`);
    expect(await fetch(`${started.url}/api/v1/health`).catch(() => 'refused')).toBe('refused');
    expect((await runCli(['server', 'stop', '--home', home])).stdout).toBe(`No control plane is running for ${home}\n`);
  });

  it('commands started at once on a new home share the one control plane that wins the start', async () => {
    const home = tempDir('server-race');
    const runs = await Promise.all([1, 2, 3].map(() => runCli(['list', '-t', `local:${home}`, '--json'])));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const status = JSON.parse((await runCli(['server', 'status', '--home', home, '--json'])).stdout) as { running: boolean };
    expect(status.running).toBe(true);
    expect((await runCli(['server', 'stop', '--home', home])).code).toBe(0);
  });

  it('its own log (logs/server.log) is rotated at a start once it has outgrown MLDEPLOY_LOG_MAX_BYTES', async () => {
    const home = tempDir('server-log');
    const logs = path.join(home, 'logs');
    mkdirSync(logs, { recursive: true });
    const old = '{"level":"info","message":"an old run"}\n'.repeat(2_000);
    writeFileSync(path.join(logs, 'server.log'), old);
    const env = { MLDEPLOY_LOG_MAX_BYTES: '65536' };
    expect((await runCli(['server', 'start', '--home', home], { env })).code).toBe(0);
    try {
      expect(readFileSync(path.join(logs, 'server.log.1'), 'utf8')).toBe(old);
      expect(statSync(path.join(logs, 'server.log')).size).toBeLessThan(old.length);
      expect(readFileSync(path.join(logs, 'server.log'), 'utf8')).toContain('control plane ready');
    } finally {
      await runCli(['server', 'stop', '--home', home]);
    }
    // Below the limit, it is appended to.
    expect((await runCli(['server', 'start', '--home', home], { env })).code).toBe(0);
    await runCli(['server', 'stop', '--home', home]);
    expect(existsSync(path.join(logs, 'server.log.2'))).toBe(false);
  });

  it('restarted, the control plane takes its previous port again', async () => {
    const home = tempDir('server-port');
    const first = JSON.parse((await runCli(['server', 'start', '--home', home, '--json'])).stdout) as { url: string };
    await runCli(['server', 'stop', '--home', home]);
    const second = JSON.parse((await runCli(['server', 'start', '--home', home, '--json'])).stdout) as { url: string };
    try {
      expect(second.url).toBe(first.url);
    } finally {
      await runCli(['server', 'stop', '--home', home]);
    }
  });

  it.each([
    ['a port that is not a number', ['--port', 'x'], 2, /Invalid value for '--port'/],
    ['a non-loopback address', ['--host', '0.0.0.0'], 1, /INVALID_PARAMETER_VALUE: The control plane binds loopback only/],
  ])('server run refuses %s', async (_what, flags, code, message) => {
    const result = await runCli(['server', 'run', '--home', tempDir('server-bad'), ...flags]);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
  });

  it('an unknown REST route and a malformed body get JSON errors', async () => {
    const home = tempDir('server-api');
    const { url } = JSON.parse((await runCli(['server', 'start', '--home', home, '--json'])).stdout) as { url: string };
    try {
      const missing = await fetchWithToken(home, `${url}/api/v1/nothing`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
      const bad = await fetchWithToken(home, `${url}/api/v1/deployments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{nope',
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error_code: 'BAD_REQUEST', message: expect.stringContaining('not valid JSON') as string });
      const noName = await fetchWithToken(home, `${url}/api/v1/deployments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"model_uri": "/x"}',
      });
      expect(await noName.json()).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE', message: "The request needs a string 'name'" });
      expect((await fetchWithToken(home, `${url}/api/v1/deployments`, { method: 'PUT' })).status).toBe(405);
      const audit = (await (await fetchWithToken(home, `${url}/api/v1/audit`)).json()) as { entries: unknown[] };
      expect(audit.entries).toEqual([]);
    } finally {
      await runCli(['server', 'stop', '--home', home]);
    }
  });
});
