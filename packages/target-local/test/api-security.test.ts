import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/support/run-cli.js';
import { IRIS, apiToken, fetchWithToken, localHome } from './support.js';

/** A request with exactly the headers given (fetch would add or refuse some, such as Host). */
function rawRequest(url: string, method: string, headers: Record<string, string>, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// What a page on another site sends when it POSTs a "simple" request (no CORS preflight).
const BROWSER = {
  'content-type': 'text/plain;charset=UTF-8',
  origin: 'http://evil.example',
  'sec-fetch-site': 'cross-site',
  'sec-fetch-mode': 'no-cors',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0',
};

describe('the control plane refuses browsers, rebinding pages and other users', () => {
  const local = localHome('security');
  let base: string;
  let host: string;

  beforeAll(async () => {
    expect((await local.cli('create', '--name', 'iris', '-m', IRIS)).code).toBe(0);
    base = local.gateway();
    host = new URL(base).host;
  }, 120_000);
  afterAll(() => local.stop());

  const deploymentNames = async (): Promise<string[]> =>
    (
      (await (await fetchWithToken(local.home, `${base}/api/v1/deployments`)).json()) as { deployments: { name: string }[] }
    ).deployments.map((d) => d.name);

  it('a cross-site form POST to create a deployment is 403, and nothing is created', async () => {
    const body = JSON.stringify({ name: 'evil', model_uri: 'http://attacker.example/model' });
    const answer = await rawRequest(`${base}/api/v1/deployments`, 'POST', { ...BROWSER, host }, body);
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toMatchObject({ error_code: 'PERMISSION_DENIED' });
    expect(await deploymentNames()).toEqual(['iris']);
  });

  it('a cross-site POST to shutdown is 403, and the control plane keeps running', async () => {
    const answer = await rawRequest(`${base}/api/v1/shutdown`, 'POST', { ...BROWSER, host }, '{}');
    expect(answer.status).toBe(403);
    expect((await fetch(`${base}/api/v1/health`)).status).toBe(200);
  });

  it('a DNS-rebinding request (a foreign Host) is 403 on the API and on the gateway, even with the token', async () => {
    const rebound = {
      host: `evil.example:${new URL(base).port}`,
      authorization: `Bearer ${apiToken(local.home)}`,
      'content-type': 'application/json',
    };
    const api = await rawRequest(`${base}/api/v1/deployments`, 'GET', rebound);
    expect(api.status).toBe(403);
    expect(JSON.parse(api.body)).toMatchObject({ error_code: 'PERMISSION_DENIED' });
    const gateway = await rawRequest(`${base}/deployments/iris/invocations`, 'POST', rebound, '{"inputs": [[5.1, 3.5, 1.4, 0.2]]}');
    expect(gateway.status).toBe(403);
    // The same request under a loopback name is served.
    const served = await rawRequest(
      `${base}/deployments/iris/invocations`,
      'POST',
      { ...rebound, host },
      '{"inputs": [[5.1, 3.5, 1.4, 0.2]]}',
    );
    expect(served.status).toBe(200);
  });

  it('a malformed percent-escape in a gateway path is 400, not 500', async () => {
    for (const route of ['/deployments/%zz/invocations', '/endpoints/iris%/invocations', '/v2/models/%E0%A4%A/infer']) {
      const answer = await rawRequest(`${base}${route}`, 'POST', { host, 'content-type': 'application/json' }, '{}');
      expect(answer.status).toBe(400);
    }
  });

  it('without the token, or with another one, the API is 401; health needs none', async () => {
    const none = await rawRequest(`${base}/api/v1/deployments/iris`, 'DELETE', { host });
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ error_code: 'UNAUTHENTICATED' });
    const wrong = await rawRequest(`${base}/api/v1/deployments/iris`, 'DELETE', { host, authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);
    expect(await deploymentNames()).toEqual(['iris']);
    expect((await rawRequest(`${base}/api/v1/health`, 'GET', { host })).status).toBe(200);
  });

  it('the token lives in a file only the owner can read, in a home only the owner can enter', async () => {
    expect(statSync(path.join(local.home, 'server.json')).mode & 0o777).toBe(0o600);
    // A home the control plane creates itself (the test's own temp folder is 0700 already).
    const fresh = path.join(local.home, 'created-by-the-control-plane');
    expect((await runCli(['server', 'start', '--home', fresh])).code).toBe(0);
    try {
      expect(statSync(fresh).mode & 0o777).toBe(0o700);
      expect(statSync(path.join(fresh, 'server.json')).mode & 0o777).toBe(0o600);
    } finally {
      await runCli(['server', 'stop', '--home', fresh]);
    }
  });

  // Needs root to switch to another user (setpriv, util-linux); elsewhere it is run by hand as
  // `sudo -u nobody node -e …` with the same script.
  const canSwitchUser = process.getuid?.() === 0;
  it.skipIf(!canSwitchUser)('another OS user can neither read the token nor call the API', async () => {
    const script = `
      const fs = require('node:fs');
      let read = 'read';
      try { fs.readFileSync(${JSON.stringify(path.join(local.home, 'server.json'))}); } catch (e) { read = e.code; }
      fetch(${JSON.stringify(`${base}/api/v1/deployments`)}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'other', model_uri: '/tmp/x' }) })
        .then((r) => console.log(JSON.stringify({ read, status: r.status })));`;
    const { stdout } = await promisify(execFile)(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script],
      { cwd: '/' },
    );
    expect(JSON.parse(stdout)).toEqual({ read: 'EACCES', status: 401 });
    expect(await deploymentNames()).toEqual(['iris']);
  });
});
