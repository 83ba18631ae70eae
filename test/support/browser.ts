import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { dashboardLink } from './dashboard-session.js';
import { waitFor } from './wait-for.js';

/** Debian's Chromium (scripts/setup installs it): playwright-core drives it and never downloads a browser of its own. */
const CHROMIUM = process.env['MLDEPLOY_TEST_CHROMIUM'] ?? '/usr/bin/chromium';

/** Flags for a quiet headless browser in a container: no sandbox (root), no GPU, no calls home. */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Starts headless Chromium; fails naming scripts/setup when it is not installed. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: run scripts/setup (it installs Debian's chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true, timeout: 60_000 });
}

/** Something a page said went wrong: a console error, an uncaught exception, a CSP violation. */
interface PageProblem {
  /** The tab that reported it, and its address then. */
  readonly source: Page;
  readonly page: string;
  readonly text: string;
}

/** A fresh browser context (its own cookies) whose pages' problems are collected. */
export interface WatchedContext {
  readonly context: BrowserContext;
  /** Everything reported so far, by every page of the context. */
  readonly problems: PageProblem[];
  /** A new page (tab) of the context, watched. */
  newPage(): Promise<Page>;
  /**
   * The problems but those `allowed` matches (the browser's favicon request, which the dashboard
   * answers 404, always is), as lines for an assertion's message.
   */
  unexpected(allowed?: readonly RegExp[]): string[];
  /** Drops what `page` reported (a page meant to fail, checked by its test). */
  forget(page: Page): void;
  close(): Promise<void>;
}

/** The favicon the browser asks for by itself: the dashboard has none, and answers 404. */
const FAVICON = /\/favicon\.ico\b/;

/**
 * A new context of `browser`. Console errors, uncaught exceptions and Content-Security-Policy
 * violations (reported by a listener added before any page script runs) of all its pages are
 * kept in `problems`.
 */
export async function watchedContext(browser: Browser, options: BrowserContextOptions = {}): Promise<WatchedContext> {
  const context = await browser.newContext(options);
  const problems: PageProblem[] = [];
  // The report of a CSP violation as a console error, with what was refused: a violation the
  // browser itself logs says less, and one in a worker or an event handler might not be logged at all.
  await context.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} refused ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`));",
  );
  const watch = (page: Page): void => {
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const where = message.location().url;
      problems.push({ source: page, page: page.url(), text: where === '' ? message.text() : `${message.text()} (${where})` });
    });
    page.on('pageerror', (error) => problems.push({ source: page, page: page.url(), text: `uncaught: ${error.stack ?? error.message}` }));
  };
  context.on('page', watch);
  return {
    context,
    problems,
    newPage: () => context.newPage(),
    unexpected: (allowed = []) =>
      problems.filter((p) => !FAVICON.test(p.text) && !allowed.some((pattern) => pattern.test(p.text))).map((p) => `${p.page}: ${p.text}`),
    forget: (page) => {
      const kept = problems.filter((p) => p.source !== page);
      problems.splice(0, problems.length, ...kept);
    },
    close: () => context.close(),
  };
}

/** The text of the first element `selector` matches on `page`; undefined while there is none (no waiting). */
export async function textOf(page: Page, selector: string): Promise<string | undefined> {
  return (await page.locator(selector).allTextContents())[0];
}

/**
 * Waits until the first element `selector` matches reads `wanted` (or passes it); on timeout
 * the error names `what` and the last text seen.
 */
export async function pageText(
  page: Page,
  selector: string,
  what: string,
  wanted: string | ((text: string) => boolean),
  timeoutMs = 30_000,
): Promise<string> {
  let last: string | undefined;
  const ok = typeof wanted === 'string' ? (text: string) => text === wanted : wanted;
  try {
    return await waitFor(
      what,
      async () => {
        last = await textOf(page, selector);
        return last !== undefined && ok(last) ? last : undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message} (${selector} last read ${JSON.stringify(last)})`);
  }
}

/** Opens the dashboard of `target` in `page` with a fresh sign-in link, and waits until its live stream is connected. */
export async function openDashboard(page: Page, target: string): Promise<void> {
  await page.goto(await dashboardLink(target));
  await page.waitForURL(/\/dashboard\/(#.*)?$/, { timeout: 30_000 });
  await pageText(page, '[data-field="connection"]', 'the connection to read Live after signing in', 'Live');
}

/** Shows a view of the dashboard by its hash route (`#/deployments/NAME`), as a link in the page would. */
export async function showView(page: Page, route: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(route)}`);
}
