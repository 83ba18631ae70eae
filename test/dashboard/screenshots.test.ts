import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IRIS, IRIS_INPUT, localHome } from '../../packages/target-local/test/support.js';
import { launchBrowser, openDashboard, pageText, showView, watchedContext, type WatchedContext } from '../support/browser.js';
import { REPO_ROOT } from '../support/paths.js';
import { runCli } from '../support/run-cli.js';
import { tempDir } from '../support/temp.js';
import { sendTraffic } from '../support/traffic.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The dashboard's pictures in docs/images/dashboard, taken from a real scenario: three iris
 * models, an endpoint split with a shadow, a canary under way with traffic flowing. With
 * MLDEPLOY_WRITE_SCREENSHOTS=1 (`npm run screenshots`) they are written there; otherwise to a
 * temp folder, and the test only checks that every view rendered, without a console error.
 */
const WRITE = process.env['MLDEPLOY_WRITE_SCREENSHOTS'] === '1';
const OUT = WRITE ? path.join(REPO_ROOT, 'docs', 'images', 'dashboard') : tempDir('screenshots');

const local = localHome('dashboard-screenshots');
let browser: Browser | undefined;
let watched: WatchedContext;
let page: Page;
const traffic: ReturnType<typeof sendTraffic>[] = [];
const VIEWPORT = { width: 1280, height: 800 };

/** Waits until the chart of `name`'s requests per second has at least `points` points. */
async function chartPoints(name: string, points: number): Promise<void> {
  await waitFor(`${points} points in the requests/s chart of ${name}`, async () => {
    const label = await page.locator(`div[data-deployment="${name}"] .chart-canvas`).first().getAttribute('aria-label', { timeout: 1000 });
    const count = Number(/over the last (\d+) points/.exec(label ?? '')?.[1] ?? 0);
    return count >= points ? true : undefined;
  });
}

/** Writes the page as `name`.png: the viewport, or with `whole` all of the page, the viewport made as tall as it first. */
async function shoot(name: string, whole = false): Promise<void> {
  const file = path.join(OUT, `${name}.png`);
  // The page's own state, not a moment of it: no hover, no focus ring (a view shown by its route focuses its heading).
  await page.mouse.move(0, 0);
  await page.evaluate('document.activeElement?.blur()');
  // A page taller than the viewport is shot in a viewport of its height: Chromium's full-page
  // capture lays the page out again part way (the scroll bar goes), and columns shift.
  const height = whole ? Math.max(VIEWPORT.height, await page.evaluate<number>('document.documentElement.scrollHeight')) : VIEWPORT.height;
  await page.setViewportSize({ width: VIEWPORT.width, height });
  await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
  await page.setViewportSize(VIEWPORT);
  expect(statSync(file).size, file).toBeGreaterThan(10_000);
  expect(statSync(file).size, file).toBeLessThan(600_000);
  expect(watched.unexpected(), `console errors on ${name}`).toEqual([]);
}

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  const launching = launchBrowser().then((b) => (browser = b));
  const cli = async (...args: string[]): Promise<void> => {
    const result = await local.cli(...args);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  };
  await cli('create', '--name', 'iris-v1', '-m', IRIS);
  await Promise.all([cli('create', '--name', 'iris-v2', '-m', IRIS, '-C', 'replicas=2'), cli('create', '--name', 'iris-v3', '-m', IRIS)]);
  // A second revision for the history, before a rollout holds iris-v1 as its source.
  await cli('update', '--name', 'iris-v1', '-C', 'timeout=30');
  await cli('create-endpoint', '--endpoint', 'iris', '-C', 'traffic={"iris-v1": 100}');
  await cli(
    'create-endpoint',
    '--endpoint',
    'iris-ab',
    '-C',
    'traffic={"iris-v1": 80, "iris-v3": 20}',
    '-C',
    'shadow={"deployment": "iris-v2", "percent": 50}',
  );
  await launching;
  watched = await watchedContext(browser!, { viewport: VIEWPORT, deviceScaleFactor: 1, colorScheme: 'light' });
  page = await watched.newPage();
  // Signed in first: the charts' sampling starts with the first link.
  await openDashboard(page, local.target);
  const gateway = local.gateway();
  traffic.push(
    sendTraffic(`${gateway}/endpoints/iris/invocations`, IRIS_INPUT),
    sendTraffic(`${gateway}/endpoints/iris-ab/invocations`, IRIS_INPUT, 1),
  );
  const policy = {
    strategy: 'canary',
    steps: [
      { weight: 25, bakeSeconds: 600 },
      { weight: 50, bakeSeconds: 600 },
    ],
    gates: { maxErrorRate: 0.01, maxErrorRateIncrease: 0.01, maxP99LatencyMs: 1000, minRequests: 20 },
  };
  const started = await runCli([
    'rollout',
    'start',
    '-t',
    local.target,
    '--endpoint',
    'iris',
    '--to',
    'iris-v2',
    '--policy',
    JSON.stringify(policy),
  ]);
  expect(started.code, started.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await Promise.all(traffic.map((t) => t.stop()));
  await browser?.close();
  await local.stop();
});

describe(`dashboard screenshots (${WRITE ? 'written to docs/images/dashboard' : 'checked only'})`, { timeout: 120_000 }, () => {
  it('the deployments list, with live figures', async () => {
    await showView(page, '#/deployments');
    for (const name of ['iris-v1', 'iris-v2', 'iris-v3']) {
      await pageText(page, `tr[data-deployment="${name}"] [data-field="rps"]`, `requests/s of ${name}`, (t) => Number(t) > 0);
      await pageText(page, `tr[data-deployment="${name}"] [data-field="p99_ms"]`, `p99 of ${name}`, (t) => t.endsWith(' ms'));
    }
    await shoot('deployments');
  });

  it('a deployment: figures, charts, history with a diff', async () => {
    await showView(page, '#/deployments/iris-v1');
    await chartPoints('iris-v1', 6);
    await waitFor('two revisions of iris-v1', async () => ((await page.locator('tr[data-revision]').count()) === 2 ? true : undefined));
    await pageText(page, '.revision-diff caption', 'the diff of revisions 1 → 2', (t) => t.startsWith('Revision 1 → revision 2'));
    await shoot('deployment', true);
  });

  it('endpoints: a split with a shadow, and one under a rollout', async () => {
    await showView(page, '#/endpoints');
    await pageText(page, 'section[data-endpoint="iris-ab"] [data-field="agreement_rate"]', 'the shadow’s agreement', (t) =>
      t.endsWith('%'),
    );
    await pageText(page, 'section[data-endpoint="iris"] [data-field="rollout_state"]', 'the rollout on iris', 'running');
    await shoot('endpoints', true);
  });

  it('a rollout under way: step, weight, gates with live values', async () => {
    const id = await pageText(page, 'section[data-endpoint="iris"] a[data-field="rollout"]', 'the rollout’s link', (t) =>
      t.startsWith('ro-'),
    );
    await showView(page, `#/rollouts/${id}`);
    for (const gate of ['maxErrorRate', 'maxErrorRateIncrease', 'maxP99LatencyMs', 'minRequests']) {
      await pageText(page, `tr[data-gate="${gate}"] [data-field="verdict"]`, `a verdict of the ${gate} gate`, (t) => t !== 'no data');
    }
    await shoot('rollout');
  });

  it('the audit log with an entry opened to its diff', async () => {
    await showView(page, '#/audit');
    const update = page.locator('tr[data-audit]', { has: page.locator('[data-field="action"]', { hasText: /^update$/ }) }).first();
    await update.locator('button').click({ timeout: 15_000 });
    await page.locator('tr.audit-detail:not([hidden]) tr[data-diff]').first().waitFor({ timeout: 10_000 });
    await shoot('audit', true);
  });
});
