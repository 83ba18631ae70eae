import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IRIS, IRIS_INPUT, localHome } from '../../packages/target-local/test/support.js';
import { launchBrowser, openDashboard, pageText, showView, textOf, watchedContext, type WatchedContext } from '../support/browser.js';
import { dashboardLink } from '../support/dashboard-session.js';
import { sendTraffic } from '../support/traffic.js';
import { runCli, type CliResult } from '../support/run-cli.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The dashboard as a person uses it: real Chromium on the page a real local control plane
 * serves, with real models, real traffic and real rollouts, every figure checked against what
 * the CLI says. One home and its deployments serve the whole file (tests run in order and build
 * on each other); the HTTP-level rules are tested in packages/target-local/test/dashboard-access.test.ts.
 */

interface DeploymentView {
  name: string;
  state: string;
  model_uri: string;
  revision: number;
  replicas: number;
  live_replicas: number;
  config: Record<string, unknown>;
}

interface RolloutView {
  id: string;
  state: string;
  weight: number;
}

interface AuditView {
  id: number;
  action: string;
  actor: string;
  subject: string;
}

const local = localHome('dashboard-browser');
const LONG_CANARY = JSON.stringify({
  strategy: 'canary',
  steps: [{ weight: 20, bakeSeconds: 600 }],
  gates: { maxErrorRate: 0.05, maxP99LatencyMs: 5000, minRequests: 5 },
});

let browser: Browser;
let main: WatchedContext;
let page: Page;
let gateway: string;
let actor: string;
/** Console lines a test expects (a refused request's failed load), on top of the favicon's 404. */
let allowed: RegExp[] = [];

/** `mldeploy rollout <sub> -t <home> …`: the target flag goes after the subcommand. */
function rollout(sub: string, ...args: string[]): Promise<CliResult> {
  return runCli(['rollout', sub, '-t', local.target, ...args], { timeoutMs: 120_000 });
}

async function rolloutJson<T = RolloutView>(sub: string, ...args: string[]): Promise<T> {
  const result = await rollout(sub, ...args, '--json');
  if (result.code !== 0) throw new Error(`mldeploy rollout ${sub} ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

const audit = (...args: string[]): Promise<AuditView[]> =>
  runCli(['audit', 'list', '-t', local.target, '--json', ...args]).then((r) => {
    if (r.code !== 0) throw new Error(`mldeploy audit list failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as AuditView[];
  });

/** Predictions to `path` on the gateway, two at a time, until stopped. */
const load = (path: string): ReturnType<typeof sendTraffic> => sendTraffic(`${gateway}${path}`, IRIS_INPUT);

const show = (route: string): Promise<void> => showView(page, route);

/** The open confirmation dialog, after it opened. */
async function openDialog(p: Page, what: string): Promise<void> {
  await p
    .locator('dialog[open]')
    .waitFor({ state: 'visible', timeout: 10_000 })
    .catch((error: unknown) => {
      throw new Error(`the confirmation dialog did not open for ${what}: ${(error as Error).message}`);
    });
}

async function dialogClosed(p: Page, what: string): Promise<void> {
  await waitFor(
    `the dialog to close after ${what}`,
    async () => ((await p.locator('dialog[open]').count()) === 0 ? true : undefined),
    15_000,
  );
}

/** Clicks `label` of the rollout detail's actions and answers its dialog with `answer`. */
async function rolloutAction(id: string, label: string, answer: 'Confirm' | 'Cancel'): Promise<void> {
  await page.locator(`div[data-rollout="${id}"] .actions button`, { hasText: label }).click({ timeout: 10_000 });
  await openDialog(page, label);
  await page.locator('dialog[open] button', { hasText: answer }).click({ timeout: 10_000 });
  await dialogClosed(page, `${answer} of ${label}`);
}

async function cliState(id: string): Promise<string> {
  return (await rolloutJson('status', '--id', id)).state;
}

beforeAll(async () => {
  // One after the other: two first commands at once on a new home race to start its control plane.
  const creating = (async () => {
    for (const args of [
      ['--name', 'blue', '-m', IRIS],
      ['--name', 'green', '-m', IRIS, '-C', 'replicas=2'],
    ]) {
      const created = await local.cli('create', ...args);
      expect(created.code, created.stderr).toBe(0);
    }
  })();
  browser = await launchBrowser();
  await creating;
  gateway = local.gateway();
  main = await watchedContext(browser);
  page = await main.newPage();
  await openDashboard(page, local.target);
  actor = (await textOf(page, '[data-field="actor"]')) ?? '';
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await local.stop();
});

beforeEach(() => {
  allowed = [];
});

afterEach(() => {
  // Every view the test showed loaded and ran without a console error, exception or CSP violation.
  expect(main.unexpected(allowed)).toEqual([]);
  main.problems.length = 0;
});

describe('the dashboard in a real browser (local control plane, real models and traffic)', { timeout: 120_000 }, () => {
  it('a page opened without the link is refused and says to run `mldeploy dashboard`; a link signs in once', async () => {
    expect(actor).toBe(userInfo().username);
    const first = await watchedContext(browser);
    const second = await watchedContext(browser);
    try {
      const cold = await first.newPage();
      const refused = await cold.goto(`${gateway}/dashboard/`);
      expect(refused?.status()).toBe(401);
      expect(await cold.locator('body').innerText()).toContain('mldeploy dashboard');
      expect(await cold.locator('[data-field="connection"]').count()).toBe(0);

      const link = await dashboardLink(local.target);
      await cold.goto(link);
      await cold.waitForURL(/\/dashboard\/(#.*)?$/, { timeout: 30_000 });
      await pageText(cold, '[data-field="connection"]', 'the first context to be Live after opening the link', 'Live');

      const late = await second.newPage();
      const spent = await late.goto(link);
      expect(spent?.status()).toBe(403);
      expect(await late.locator('h1').innerText()).toBe('This link was used or has expired');
      expect(await late.locator('[data-field="connection"]').count()).toBe(0);
      // Nor did it leave a cookie that opens the dashboard.
      expect((await late.goto(`${gateway}/dashboard/`))?.status()).toBe(401);
      // The browser reports each refused page as a failed load, and nothing else.
      const refusedLoad = /Failed to load resource: the server responded with a status of 40[13]/;
      expect(first.unexpected([refusedLoad])).toEqual([]);
      expect(second.unexpected([refusedLoad])).toEqual([]);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('the deployments view shows what the API says, live: revision, replicas, state, model, and requests/s under traffic', async () => {
    const traffic = load('/deployments/blue/invocations');
    try {
      await show('#/deployments');
      expect(await textOf(page, '[data-field="connection"]')).toBe('Live');
      for (const name of ['blue', 'green']) {
        const cli = await local.json<DeploymentView>('get', '--name', name);
        const wanted = {
          state: cli.state,
          model_uri: cli.model_uri,
          revision: String(cli.revision),
          live_replicas: String(cli.live_replicas),
          replicas: String(cli.replicas),
        };
        let shown: Record<string, string | undefined> = {};
        await waitFor(`the deployments list to show ${name} as the CLI does (${JSON.stringify(wanted)})`, async () => {
          shown = {};
          for (const field of Object.keys(wanted))
            shown[field] = await textOf(page, `tr[data-deployment="${name}"] [data-field="${field}"]`);
          return JSON.stringify(shown) === JSON.stringify(wanted) ? true : undefined;
        }).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}; the page shows ${JSON.stringify(shown)}`);
        });
      }
      expect(await textOf(page, 'tr[data-deployment="green"] [data-field="replicas"]')).toBe('2');
      const rps = await pageText(
        page,
        'tr[data-deployment="blue"] [data-field="rps"]',
        'requests/s of blue to rise above 0',
        (t) => Number(t) > 0,
      );
      expect(Number(rps)).toBeGreaterThan(0);
      await pageText(page, 'tr[data-deployment="blue"] [data-field="p99_ms"]', 'a p99 latency of blue', (t) => /^\d+(\.\d+)? ms$/.test(t));
      // green has had no traffic since the page opened.
      expect(['–', '0']).toContain(await textOf(page, 'tr[data-deployment="green"] [data-field="rps"]'));

      await page.locator('tr[data-deployment="blue"] a').click();
      await page.waitForURL(/#\/deployments\/blue$/);
      await pageText(page, 'h1', 'the heading of blue’s page', 'Deployment blue');
      // The requests/s chart draws its line (uPlot's first stroke, #2563eb) on its canvas.
      const bluePixels = `(() => {
        const canvas = document.querySelector('div[data-deployment="blue"] .chart-canvas canvas');
        if (canvas === null) return -1;
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let count = 0;
        for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - 37) < 40 && Math.abs(data[i + 1] - 99) < 40 && data[i + 2] > 180 && data[i + 3] > 100) count += 1;
        return count;
      })()`;
      await waitFor(
        'the requests/s chart of blue to draw its line',
        async () => ((await page.evaluate<number>(bluePixels)) > 20 ? true : undefined),
        30_000,
      );
      expect(await page.locator('div[data-deployment="blue"] .chart-canvas canvas').count()).toBeGreaterThanOrEqual(3);
      expect(await page.locator('div[data-deployment="blue"] .chart-canvas').first().getAttribute('aria-label')).toMatch(
        /^Requests per second, over the last \d+ points; latest: requests\/s [\d.]+ req\/s$/,
      );

      await page.getByRole('button', { name: 'Show the last 200 log records' }).click();
      await waitFor('log records of blue in the Logs section', async () =>
        (await page.locator('section[aria-labelledby="logs-heading"] tbody tr').count()) > 0 ? true : undefined,
      );
      expect(await page.locator('section[aria-labelledby="logs-heading"] tbody').innerText()).toMatch(/serving on port \d+/);
    } finally {
      const statuses = await traffic.stop();
      expect(Object.keys(statuses)).toEqual(['200']);
    }
  });

  it('an endpoint’s split reads as the CLI set it, and follows a change live without a reload', async () => {
    expect((await local.cli('create-endpoint', '--endpoint', 'split', '-C', 'traffic={"blue": 90, "green": 10}')).code).toBe(0);
    await show('#/endpoints');
    const weight = (d: string) => `section[data-endpoint="split"] [data-field="weight"][data-deployment="${d}"]`;
    await pageText(page, weight('blue'), 'blue’s share of split to read 90 %', '90 %');
    expect(await textOf(page, weight('green'))).toBe('10 %');
    expect(await textOf(page, 'section[data-endpoint="split"] [data-field="shadow"]')).toBe('none');
    await page.evaluate('window.notReloaded = true');
    expect((await local.cli('update-endpoint', '--endpoint', 'split', '-C', 'traffic={"blue": 25, "green": 75}')).code).toBe(0);
    await pageText(page, weight('green'), 'green’s share of split to follow the update to 75 %', '75 %');
    expect(await textOf(page, weight('blue'))).toBe('25 %');
    expect(await page.evaluate('window.notReloaded')).toBe(true);
  });

  it('history: revisions listed, two compared by key, and a rollback confirmed in a dialog serves the old content as a new revision', async () => {
    expect((await local.cli('update', '--name', 'blue', '-C', 'timeout=42')).code).toBe(0);
    const history = JSON.parse((await local.cli('history', '--name', 'blue', '--json')).stdout) as { revision: number; config: unknown }[];
    const first = history.find((r) => r.revision === 1)!;
    await show('#/deployments/blue');
    await waitFor('two revisions of blue in its history', async () =>
      (await page.locator('tr[data-revision]').count()) === 2 ? true : undefined,
    );
    expect(await textOf(page, 'tr[data-revision="2"] [data-field="current"]')).toContain('current');
    await page.locator('#diff-from').selectOption('2');
    await page.locator('#diff-to').selectOption('1');
    await pageText(page, '.revision-diff caption', 'the diff of revisions 2 → 1', (t) => t.startsWith('Revision 2 → revision 1'));
    const keys = await page.evaluate<string[]>(
      "[...document.querySelectorAll('.revision-diff tr[data-diff]')].map((row) => row.dataset.diff + ' ' + row.dataset.key)",
    );
    expect(keys.some((k) => /config\.timeout$/.test(k))).toBe(true);

    await page.getByRole('button', { name: 'Roll back to revision 1' }).click();
    await openDialog(page, 'the rollback');
    expect(await page.locator('dialog[open] h2').innerText()).toBe('Roll back blue to revision 1');
    await page.locator('dialog[open] button', { hasText: 'Confirm' }).click();
    await dialogClosed(page, 'confirming the rollback');
    await pageText(page, '[data-field="announcement"]', 'the rollback’s announcement', (t) => t.includes('it now serves revision 3'));
    const after = await local.json<DeploymentView>('get', '--name', 'blue');
    expect(after.revision).toBe(3);
    expect(after.config).toEqual(first.config);
    await pageText(page, 'div[data-deployment="blue"] dl [data-field="revision"]', 'blue’s page to show revision 3', '3');
    await waitFor('three revisions of blue in its history', async () =>
      (await page.locator('tr[data-revision]').count()) === 3 ? true : undefined,
    );
    const entries = await audit('--subject', 'blue');
    expect(entries.at(-1)).toMatchObject({ action: 'rollback', actor: `${actor} via dashboard` });
  });

  it('the audit view lists entries, and an entry opens to its diff', async () => {
    await show('#/audit');
    const update = (await audit('--subject', 'blue')).find((e) => e.action === 'update')!;
    const row = page.locator(`tr[data-audit="${update.id}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await page.locator('tr[data-audit]').count()).toBeGreaterThanOrEqual(5);
    expect(await row.locator('[data-field="action"]').innerText()).toBe('update');
    const toggle = row.locator('button');
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    await toggle.click();
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    const detail = page.locator(`#audit-detail-${update.id}`);
    await detail.locator('tr[data-diff]').first().waitFor({ timeout: 10_000 });
    expect(await detail.locator('tr[data-diff][data-key$="timeout"]').count()).toBe(1);
  });

  it('a canary rollout under traffic: step, weight and gates with live values; Pause, Cancel, Resume and Promote through dialogs change the real rollout, audited as the dashboard’s user', async () => {
    expect((await local.cli('create-endpoint', '--endpoint', 'front', '-C', 'traffic={"blue": 100}')).code).toBe(0);
    const traffic = load('/endpoints/front/invocations');
    try {
      const started = await rolloutJson('start', '--endpoint', 'front', '--to', 'green', '--policy', LONG_CANARY);
      const id = started.id;
      await show(`#/rollouts/${id}`);
      const field = (name: string) => `div[data-rollout="${id}"] dl [data-field="${name}"]`;
      const gate = (name: string, f: string) => `div[data-rollout="${id}"] tr[data-gate="${name}"] [data-field="${f}"]`;
      await pageText(page, field('state'), 'the rollout to show as running', 'running');
      expect(await textOf(page, field('step'))).toBe('1 of 1');
      expect(await textOf(page, field('candidate_weight'))).toBe('20 %');
      expect(await textOf(page, field('from'))).toBe('blue');
      expect(await textOf(page, field('to'))).toBe('green');
      expect(await textOf(page, gate('maxErrorRate', 'threshold'))).toBe('≤ 5 %');
      expect(await textOf(page, gate('maxP99LatencyMs', 'threshold'))).toBe('≤ 5000 ms');
      expect(await textOf(page, gate('minRequests', 'threshold'))).toBe('≥ 5');
      await pageText(page, gate('minRequests', 'value'), 'a live candidate request count in the gates', (t) => Number(t) > 0);
      await pageText(page, gate('maxErrorRate', 'verdict'), 'the error-rate gate to pass', 'passing');
      expect(await textOf(page, gate('maxErrorRate', 'value'))).toBe('0 %');
      expect(await textOf(page, gate('maxP99LatencyMs', 'value'))).toMatch(/^[\d.]+ ms$/);
      expect(await textOf(page, `div[data-rollout="${id}"] [data-field="weight"][data-deployment="green"]`)).toBe('20 %');

      await rolloutAction(id, 'Pause', 'Confirm');
      expect(await cliState(id)).toBe('paused');
      await pageText(page, field('state'), 'the page to show the rollout paused', 'paused');
      expect(await textOf(page, '[data-field="announcement"]')).toMatch(new RegExp(`^Rollout ${id} paused: now paused, green at 20 %\\.$`));
      expect(await page.locator(`div[data-rollout="${id}"] .actions button`, { hasText: 'Pause' }).isDisabled()).toBe(true);

      await rolloutAction(id, 'Resume', 'Cancel');
      expect(await cliState(id)).toBe('paused');
      expect(await textOf(page, field('state'))).toBe('paused');

      await rolloutAction(id, 'Resume', 'Confirm');
      expect(await cliState(id)).toBe('running');
      await pageText(page, field('state'), 'the page to show the rollout running again', 'running');

      await rolloutAction(id, 'Promote', 'Confirm');
      expect(await cliState(id)).toBe('succeeded');
      await pageText(page, field('state'), 'the page to show the rollout succeeded', 'succeeded');
      expect((await local.json<{ traffic: Record<string, number> }>('get-endpoint', '--endpoint', 'front')).traffic).toEqual({
        green: 100,
      });
      for (const label of ['Pause', 'Resume', 'Abort', 'Promote']) {
        expect(await page.locator(`div[data-rollout="${id}"] .actions button`, { hasText: label }).isDisabled(), label).toBe(true);
      }

      const byPage = (await audit('--subject', 'front')).filter((e) => e.actor === `${actor} via dashboard`).map((e) => e.action);
      expect(byPage).toEqual(['rollout-pause', 'rollout-resume', 'rollout-succeeded']);
    } finally {
      const statuses = await traffic.stop();
      // Callers saw no failure while the page moved the traffic.
      expect(Object.keys(statuses)).toEqual(['200']);
    }
  });

  it('an action on a rollout the CLI ended meanwhile fails in its dialog with the control plane’s message', async () => {
    const started = await rolloutJson('start', '--endpoint', 'front', '--to', 'blue', '--policy', LONG_CANARY);
    await show(`#/rollouts/${started.id}`);
    await pageText(page, `div[data-rollout="${started.id}"] dl [data-field="state"]`, 'the second rollout to show running', 'running');
    await page.locator(`div[data-rollout="${started.id}"] .actions button`, { hasText: 'Abort' }).click();
    await openDialog(page, 'Abort');
    expect((await rolloutJson('abort', '--id', started.id)).state).toBe('aborted');
    // The refused action's 409, which the browser reports in the console.
    allowed = [/Failed to load resource: the server responded with a status of 409/];
    await page.locator('dialog[open] button', { hasText: 'Confirm' }).click();
    const alert = await pageText(page, 'dialog[open] [role="alert"]', 'the failure in the dialog', (t) => t.length > 0);
    expect(alert).toContain(`Rollout ${started.id} is aborted: it cannot be aborted`);
    expect(await textOf(page, '[data-field="announcement"]')).toContain('failed');
    await page.locator('dialog[open] button', { hasText: 'Cancel' }).click();
    await dialogClosed(page, 'cancelling the failed abort');
    await pageText(page, `div[data-rollout="${started.id}"] dl [data-field="state"]`, 'the page to show the rollout aborted', 'aborted');
    expect((await local.json<{ traffic: Record<string, number> }>('get-endpoint', '--endpoint', 'front')).traffic).toEqual({ green: 100 });
  });

  it('another origin’s page in the signed-in browser can change nothing: a cross-site and a same-site form post and fetch are refused', async () => {
    const running = await rolloutJson('start', '--endpoint', 'front', '--to', 'blue', '--policy', LONG_CANARY);
    const target = `${gateway}/dashboard/api/v1/rollouts/${running.id}/abort`;
    const lastEntry = (await audit()).at(-1)!.id;
    const reports: string[] = [];
    const attacker: Server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://attacker');
      if (url.pathname === '/report') {
        reports.push(url.searchParams.get('fetch') ?? '');
        response.end('ok');
        return;
      }
      response.setHeader('content-type', 'text/html; charset=utf-8');
      response.end(`<!doctype html><html><body>
<form id="f" method="POST" action="${target}"><input type="hidden" name="x" value="1"></form>
<script>
  fetch(${JSON.stringify(target)}, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}' })
    .then((r) => 'status ' + r.status, (e) => 'failed ' + e.name)
    .then((outcome) => fetch('/report?fetch=' + encodeURIComponent(outcome)))
    .then(() => document.getElementById('f').submit());
</script></body></html>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const port = (attacker.address() as AddressInfo).port;
    const tab = await main.newPage();
    try {
      for (const origin of [`http://localhost:${port}`, `http://127.0.0.1:${port}`]) {
        // The page submits its form as soon as it runs: its navigation may end the goto's own.
        const [answer] = await Promise.all([
          tab.waitForResponse((r) => r.url() === target && r.request().method() === 'POST' && r.request().resourceType() === 'document', {
            timeout: 30_000,
          }),
          tab.goto(`${origin}/attack`, { waitUntil: 'commit' }),
        ]);
        // localhost is another site: no SameSite=Strict cookie goes, 401. 127.0.0.1 on another port
        // is the same site, so the cookie goes, and the Origin and the missing CSRF token stop it.
        expect(answer.status(), origin).toBe(origin.includes('localhost') ? 401 : 403);
        // The refusal is the tab's page now (a closing or navigating tab still loading it waits for it).
        await tab.waitForURL(target, { waitUntil: 'load', timeout: 30_000 });
        await waitFor(`the attacker page at ${origin} to report its fetch`, () => (reports.length > 0 ? true : undefined));
        // The browser refused the JSON fetch's CORS preflight: the POST itself never went out.
        expect(reports.shift(), origin).toMatch(/^failed/);
      }
    } finally {
      await tab.close();
      // The browser keeps its connections to the attacker open: they would hold close() forever.
      attacker.closeAllConnections();
      await new Promise((resolve) => attacker.close(resolve));
    }
    expect(await cliState(running.id)).toBe('running');
    const since = (await audit()).filter((e) => e.id > lastEntry);
    expect(since.filter((e) => e.actor.endsWith('via dashboard') || e.action !== 'rollout-step')).toEqual([]);
    // The attacker's tab reported its refused requests; the dashboard's own page is checked after the test.
    main.forget(tab);
  });

  it('the keyboard reaches the navigation and the rollout’s buttons; Enter opens the dialog and Escape closes it without acting', async () => {
    const running = await rolloutJson<RolloutView[]>('list', '--endpoint', 'front');
    const id = running.find((r) => r.state === 'running')!.id;
    // A page load, as a person arriving at the rollout would have (a link within the page moves the focus to the heading).
    await show(`#/rollouts/${id}`);
    await page.reload();
    await pageText(page, `div[data-rollout="${id}"] dl [data-field="state"]`, 'the running rollout after a reload', 'running');
    const focused = `(() => { const e = document.activeElement; return e === null ? '' : [e.tagName, (e.textContent || '').trim(), e.closest('nav') ? 'nav' : e.closest('dialog') ? 'dialog' : e.closest('.actions') ? 'actions' : ''].join('|'); })()`;
    const seen: string[] = [];
    for (let i = 0; i < 30 && !seen.includes('BUTTON|Pause|actions'); i += 1) {
      await page.keyboard.press('Tab');
      seen.push(await page.evaluate<string>(focused));
    }
    for (const link of ['Deployments', 'Endpoints', 'Rollouts', 'Audit']) expect(seen, seen.join(', ')).toContain(`A|${link}|nav`);
    expect(seen.at(-1)).toBe('BUTTON|Pause|actions');
    await page.keyboard.press('Enter');
    await openDialog(page, 'Enter on Pause');
    expect(await page.locator('dialog[open] h2').innerText()).toBe(`Pause rollout ${id}`);
    // The dialog takes the focus, on its harmless button.
    expect(await page.evaluate<string>(focused)).toBe('BUTTON|Cancel|dialog');
    await page.keyboard.press('Escape');
    await dialogClosed(page, 'Escape');
    expect(await cliState(id)).toBe('running');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>(focused)).toBe('BUTTON|Abort|actions');
  });

  it('a control plane stopped while the page is open stops promptly, and the page says it is no longer live', async () => {
    await show('#/deployments');
    await pageText(page, '[data-field="connection"]', 'the connection to be Live before the stop', 'Live');
    const begun = Date.now();
    const stopped = await runCli(['server', 'stop', '--home', local.home], { timeoutMs: 60_000 });
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(Date.now() - begun).toBeLessThan(15_000);
    await pageText(page, '[data-field="connection"]', 'the connection to leave Live after the stop', (t) => t !== 'Live', 15_000);
    // EventSource retrying against a closed port is the browser's failed load, reported as such.
    allowed = [/net::ERR_CONNECTION_REFUSED|Failed to load resource/];
  });
});
