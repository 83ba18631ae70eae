import { runCli } from './run-cli.js';

/** A browser's sign-in, done by hand: the cookie the link set, and the page's key the signed-in page moves on with. */
export interface SignedIn {
  readonly base: string;
  readonly cookie: string;
  readonly key: string;
  readonly actor: string;
  /** The headers of a signed-in page's requests: the cookie and the key. */
  readonly headers: Record<string, string>;
}

/** The one-time link `mldeploy dashboard --no-open --json` prints for `target`. */
export async function dashboardLink(target: string): Promise<string> {
  const result = await runCli(['dashboard', '-t', target, '--no-open', '--json'], { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`mldeploy dashboard failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { url: string }).url;
}

/** Opens `link` as a browser would and keeps the session cookie it sets. */
export async function signIn(link: string): Promise<SignedIn> {
  const answer = await fetch(link);
  const page = await answer.text();
  const setCookie = answer.headers.get('set-cookie');
  if (answer.status !== 200 || setCookie === null) throw new Error(`sign-in answered ${answer.status}: ${page}`);
  const cookie = setCookie.split(';', 1)[0]!;
  const key = /url=\/dashboard\/#key=([\w-]+)"/.exec(page)?.[1];
  if (key === undefined) throw new Error(`the signed-in page names no key: ${page}`);
  const base = new URL(link).origin;
  const headers = { cookie, 'x-mldeploy-dashboard-key': key };
  const session = (await (await fetch(`${base}/dashboard/api/session`, { headers })).json()) as { actor: string };
  return { base, cookie, key, actor: session.actor, headers };
}

/**
 * Reads the dashboard's server-sent events until `until` returns a value for a `snapshot`
 * event's data, or fails after `timeoutMs`.
 */
export async function awaitSnapshot<T>(
  session: SignedIn,
  what: string,
  until: (snapshot: Record<string, unknown>) => T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  try {
    const answer = await fetch(`${session.base}/dashboard/events?key=${session.key}`, {
      headers: { cookie: session.cookie },
      signal: controller.signal,
    });
    if (answer.status !== 200 || answer.body === null) throw new Error(`events answered ${answer.status}`);
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of answer.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== 'snapshot' || data === undefined) continue;
        const found = until(JSON.parse(data) as Record<string, unknown>);
        if (found !== undefined) return found;
      }
    }
    throw new Error(`the event stream ended while waiting for ${what}`);
  } catch (error) {
    throw controller.signal.aborted ? (controller.signal.reason as Error) : error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
