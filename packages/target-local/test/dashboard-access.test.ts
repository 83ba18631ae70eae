import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitSnapshot, dashboardLink, signIn, type SignedIn } from '../../../test/support/dashboard-session.js';
import { CLI_BIN } from '../../../test/support/paths.js';
import { cleanEnv, runCli } from '../../../test/support/run-cli.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { IRIS, IRIS_INPUT, localHome, predictVia } from './support.js';

/**
 * The dashboard's side in the control plane, over real HTTP through the gateway: who gets in
 * (only a browser that opened the link `mldeploy dashboard` printed), what it can read and
 * change, and the live event stream. The page itself is tested in a real browser
 * (test/dashboard/).
 */
describe('the dashboard: sign-in, access rules, API and live events (local control plane)', () => {
  const local = localHome('dashboard');
  const other = localHome('dashboard-other');
  let session: SignedIn;

  beforeAll(async () => {
    expect((await local.cli('create', '--name', 'iris', '-m', IRIS)).code).toBe(0);
    expect((await local.cli('update', '--name', 'iris', '-C', 'replicas=1')).code).toBe(0);
    session = await signIn(await dashboardLink(local.target));
  }, 180_000);

  afterAll(async () => {
    await Promise.all([local.stop(), other.stop()]);
  });

  it('a browser without the link gets nothing: pages and the API answer 401; a link signs in once, with an HttpOnly SameSite=Strict cookie', async () => {
    const base = local.gateway();
    const page = await fetch(`${base}/dashboard/`);
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('mldeploy dashboard');
    for (const path of ['/dashboard/api/session', '/dashboard/api/v1/deployments', '/dashboard/events']) {
      const answer = await fetch(`${base}${path}`);
      expect(answer.status, path).toBe(401);
      expect(((await answer.json()) as { error_code: string }).error_code).toBe('UNAUTHENTICATED');
    }
    // A made-up cookie is no session.
    const forged = await fetch(`${base}/dashboard/api/session`, { headers: { cookie: `${session.cookie.split('=')[0]}=forged` } });
    expect(forged.status).toBe(401);
    await forged.arrayBuffer();

    const link = await dashboardLink(local.target);
    const first = await fetch(link);
    expect(first.status).toBe(200);
    expect(await first.text()).toContain('Signed in');
    const cookie = first.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^mldeploy-dashboard-\d+=[\w-]{43}; Max-Age=\d+; Path=\/dashboard; HttpOnly; SameSite=Strict$/);
    expect(first.headers.get('referrer-policy')).toBe('no-referrer');
    const again = await fetch(link);
    expect(again.status).toBe(403);
    expect(again.headers.get('set-cookie')).toBeNull();
    expect(await again.text()).toContain('This link was used or has expired');
    for (const bad of ['', '?code=', '?code=nope', `?code=${new URL(link).searchParams.get('code')!}x`]) {
      const refused = await fetch(`${base}/dashboard/login${bad}`);
      expect(refused.status, bad).toBe(403);
      expect(await refused.text()).toContain('This link was used or has expired');
    }
  });

  it('the cookie alone reads nothing: every request for data needs the page’s key, which only the signed-in page holds', async () => {
    // Browsers send a host's cookies to all its ports: a server on another local port may see the
    // cookie, never the key (it travels in the address's fragment, then in the page's storage).
    const withCookie = { cookie: session.cookie };
    for (const path of ['/dashboard/api/session', '/dashboard/api/v1/deployments', '/dashboard/events', '/dashboard/events?key=wrong']) {
      const answer = await fetch(`${session.base}${path}`, { headers: withCookie });
      expect(answer.status, path).toBe(403);
      expect(((await answer.json()) as { message: string }).message).toContain('needs the key of the page that signed in');
    }
    const wrongKey = await fetch(`${session.base}/dashboard/api/session`, {
      headers: { ...session.headers, 'x-mldeploy-dashboard-key': 'x' },
    });
    expect(wrongKey.status).toBe(403);
    await wrongKey.arrayBuffer();
    // What the page gets of its session: no key, no token.
    const answer = (await (await fetch(`${session.base}/dashboard/api/session`, { headers: session.headers })).json()) as Record<
      string,
      unknown
    >;
    expect(Object.keys(answer).sort()).toEqual(['actor', 'home', 'version']);
    // The link itself cannot be checked by a HEAD (a link checker would spend it).
    const link = await dashboardLink(local.target);
    expect((await fetch(link, { method: 'HEAD' })).status).not.toBe(200);
    expect((await fetch(link)).status).toBe(200);
  });

  it('pages carry a strict content security policy and cannot be framed', async () => {
    const answer = await fetch(`${session.base}/dashboard/`, { headers: { cookie: session.cookie } });
    expect(answer.status).toBe(200);
    const bare = await fetch(`${session.base}/dashboard`, { headers: { cookie: session.cookie }, redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/dashboard/');
    expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(answer.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(answer.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(answer.headers.get('x-frame-options')).toBe('DENY');
    expect(await answer.text()).toContain('<script');
  });

  it('a signed-in page reads what the API has, and its event stream carries the same, with live traffic per deployment', async () => {
    const read = async (path: string): Promise<unknown> => {
      const answer = await fetch(`${session.base}/dashboard/api/v1/${path}`, { headers: session.headers });
      expect(answer.status, path).toBe(200);
      return answer.json();
    };
    const viaCli = await local.json<{ name: string; revision: number }>('get', '--name', 'iris');
    expect(await read('deployments/iris')).toMatchObject({ name: 'iris', revision: viaCli.revision, replicas: 1 });
    expect(((await read('deployments/iris/revisions')) as { revisions: unknown[] }).revisions).toHaveLength(2);
    expect(((await read('deployments/iris/logs?tail=5')) as { entries: unknown[] }).entries.length).toBeGreaterThan(0);
    expect(((await read('audit?subject=iris')) as { entries: { action: string }[] }).entries.map((e) => e.action)).toEqual([
      'create',
      'update',
    ]);

    for (let i = 0; i < 20; i += 1) expect((await predictVia(`${session.base}/deployments/iris/invocations`, IRIS_INPUT)).status).toBe(200);
    const point = await awaitSnapshot(session, 'a point of iris traffic in the event stream', (snapshot) => {
      const deployments = snapshot['deployments'] as { name: string; revision: number }[];
      expect(deployments.map((d) => [d.name, d.revision])).toEqual([['iris', viaCli.revision]]);
      const points = (snapshot['series'] as Record<string, { rps: number; p50_ms: number | null; p99_ms: number | null }[]>)['iris'] ?? [];
      return points.find((p) => p.rps > 0);
    });
    expect(point.p50_ms).toBeGreaterThan(0);
    expect(point.p99_ms).toBeGreaterThanOrEqual(point.p50_ms!);
  });

  it('a change needs the page’s key and a same-origin request; one that passes is audited in the name of who opened the link', async () => {
    const rollback = (headers: Record<string, string>, body = '{"to_revision": 1}'): Promise<Response> =>
      fetch(`${session.base}/dashboard/api/v1/deployments/iris/rollback`, {
        method: 'POST',
        headers: { cookie: session.cookie, 'content-type': 'application/json', ...headers },
        body,
      });
    const before = await local.json<{ revision: number }>('get', '--name', 'iris');
    const refused: [Record<string, string>, number, string][] = [
      [{}, 403, 'needs the key of the page'],
      [{ 'x-mldeploy-dashboard-key': 'guess' }, 403, 'needs the key of the page'],
      [{ 'x-mldeploy-dashboard-key': session.key, origin: 'https://evil.example' }, 403, 'its own pages only'],
      [{ 'x-mldeploy-dashboard-key': session.key, origin: 'null' }, 403, 'its own pages only'],
      [{ 'x-mldeploy-dashboard-key': session.key, 'sec-fetch-site': 'cross-site' }, 403, 'its own pages only'],
      [{ 'x-mldeploy-dashboard-key': session.key, 'sec-fetch-site': 'same-site' }, 403, 'its own pages only'],
    ];
    for (const [headers, status, message] of refused) {
      const answer = await rollback(headers);
      expect(answer.status, JSON.stringify(headers)).toBe(status);
      expect(((await answer.json()) as { message: string }).message).toContain(message);
    }
    // A cross-site form post: the browser sends no SameSite=Strict cookie, and no token.
    const form = await fetch(`${session.base}/dashboard/api/v1/deployments/iris/rollback`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: 'to_revision=1',
    });
    expect(form.status).toBe(401);
    expect((await local.json<{ revision: number }>('get', '--name', 'iris')).revision).toBe(before.revision);

    const bad = await rollback({ 'x-mldeploy-dashboard-key': session.key, origin: session.base }, '{"to_revision": "one"}');
    expect(bad.status).toBe(400);
    const done = await rollback({ 'x-mldeploy-dashboard-key': session.key, origin: session.base, 'sec-fetch-site': 'same-origin' });
    expect(done.status).toBe(200);
    expect(((await done.json()) as { revision: number }).revision).toBe(before.revision + 1);
    const audit = JSON.parse((await runCli(['audit', 'list', '-t', local.target, '--subject', 'iris', '--json'])).stdout) as {
      action: string;
      actor: string;
      result: string;
    }[];
    expect(audit.at(-1)).toMatchObject({ action: 'rollback', actor: `${session.actor} via dashboard`, result: 'ok' });
  });

  it('offers no other change, and serves no file but its own', async () => {
    const call = (method: string, path: string): Promise<Response> =>
      fetch(`${session.base}${path}`, {
        method,
        headers: { ...session.headers, 'content-type': 'application/json' },
        body: method === 'GET' ? undefined : JSON.stringify({ name: 'x', model_uri: IRIS }),
      });
    for (const [method, path] of [
      ['POST', '/dashboard/api/v1/deployments'],
      ['DELETE', '/dashboard/api/v1/deployments/iris'],
      ['PATCH', '/dashboard/api/v1/deployments/iris'],
      ['POST', '/dashboard/api/v1/shutdown'],
      ['POST', '/dashboard/api/v1/rollouts'],
      ['POST', '/dashboard/api/v1/dashboard/login'],
      ['GET', '/dashboard/api/v1/audit/export'],
    ] as const) {
      const answer = await call(method, path);
      expect([404, 405], `${method} ${path}`).toContain(answer.status);
      expect(((await answer.json()) as { error_code: string }).error_code).toMatch(/RESOURCE_DOES_NOT_EXIST|METHOD_NOT_ALLOWED/);
    }
    expect((await local.json<{ name: string }[]>('list')).map((d) => d.name)).toEqual(['iris']);
    for (const path of [
      '/dashboard/..%2Fpackage.json',
      '/dashboard/%2e%2e%2f%2e%2e%2fserver.json',
      '/dashboard/server.json',
      '/dashboard/index.ts',
    ]) {
      const answer = await call('GET', path);
      expect(answer.status, path).toBe(404);
      await answer.arrayBuffer();
    }
  });

  it('`mldeploy dashboard` is for a local target: other targets and bad flags are refused with exit 2', async () => {
    const cases: [string[], string][] = [
      [['-t', 'kubernetes:/ctx/ns'], "'kubernetes:/ctx/ns' is not one: use -t local (or local:/DIR) and --show kubernetes:/ctx/ns"],
      [['-t', local.target, '--interval', '0'], "Invalid value for '--interval'"],
      [['-t', local.target, '--interval', 'soon'], "Invalid value for '--interval'"],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['dashboard', '--no-open', ...args], { timeoutMs: 60_000 });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
    const unknown = await runCli(['dashboard', '--no-open', '-t', local.target, '--show', 'nowhere:/x'], { timeoutMs: 60_000 });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stdout).toBe('');
  });

  it('--show feeds another target’s deployments through its client; the page shows them as stale once the command stops', async () => {
    expect((await other.cli('create', '--name', 'remote-iris', '-m', IRIS)).code).toBe(0);
    const feeder = spawn(
      process.execPath,
      [CLI_BIN, 'dashboard', '--no-open', '-t', local.target, '--show', other.target, '--interval', '1'],
      {
        env: cleanEnv(),
        stdio: 'ignore',
      },
    );
    try {
      const shown = await awaitSnapshot(session, 'the other home in the snapshot', (snapshot) => {
        const targets = snapshot['targets'] as { uri: string; stale: boolean; deployments: Record<string, unknown>[] }[];
        return targets.find((t) => t.uri === other.target && t.deployments.length > 0);
      });
      expect(shown.stale).toBe(false);
      expect(shown.deployments[0]).toMatchObject({ name: 'remote-iris', state: 'ready' });
      // Plain fields only: nested records (configs) never reach the page.
      expect(Object.values(shown.deployments[0]!).every((v) => v === null || typeof v !== 'object')).toBe(true);
    } finally {
      feeder.kill('SIGINT');
    }
    await waitFor('the feeder to exit', () => (feeder.exitCode !== null || feeder.signalCode !== null ? true : undefined), 30_000);
    const stale = await awaitSnapshot(
      session,
      'the other home shown as stale',
      (snapshot) => (snapshot['targets'] as { uri: string; stale: boolean }[]).find((t) => t.uri === other.target && t.stale),
      30_000,
    );
    expect(stale.stale).toBe(true);

    // The control plane checks what a feed holds itself: plain fields only, secrets masked.
    const { token } = JSON.parse(readFileSync(path.join(local.home, 'server.json'), 'utf8')) as { token: string };
    const publish = (feed: unknown): Promise<Response> =>
      fetch(`${session.base}/api/v1/dashboard/targets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(feed),
      });
    const feed = { uri: 'remote:https://ada:hunter2@example.com/?token=abc', interval_seconds: 10, error: null, endpoints: [] };
    const nested = await publish({ ...feed, deployments: [{ name: 'x', config: { token: 'hunter2' } }] });
    expect(nested.status).toBe(400);
    expect(((await nested.json()) as { message: string }).message).toContain('plain fields only');
    const accepted = await publish({ ...feed, deployments: [{ name: 'x', api_token: 'hunter2', url: 'https://u:hunter2@h/x' }] });
    expect(accepted.status).toBe(200);
    await accepted.arrayBuffer();
    const shown = await awaitSnapshot(session, 'the masked feed', (snapshot) =>
      (snapshot['targets'] as { uri: string }[]).find((t) => t.uri.startsWith('remote:')),
    );
    expect(JSON.stringify(shown)).not.toContain('hunter2');
    expect(JSON.stringify(shown)).not.toContain('abc');
  });

  it('a control plane stops at once with a dashboard’s event stream open', async () => {
    const controller = new AbortController();
    const events = await fetch(`${session.base}/dashboard/events?key=${session.key}`, {
      headers: { cookie: session.cookie },
      signal: controller.signal,
    });
    expect(events.status).toBe(200);
    const stopped = await runCli(['server', 'stop', '--home', local.home], { timeoutMs: 30_000 });
    controller.abort();
    expect(stopped.code).toBe(0);
  });
});
