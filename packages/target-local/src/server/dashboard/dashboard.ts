import { maskSecrets } from '@mldeploy/core';
import type { RemoteTarget } from '@mldeploy/dashboard';
import type { RemoteTargetFeed } from '../api-schema.js';
import { DashboardSessions } from './dashboard-sessions.js';
import { RequestSeries, type RequestSources } from './request-series.js';

/** Where the link `mldeploy dashboard` prints leads: it spends its code for a session cookie. */
export const DASHBOARD_LOGIN_PATH = '/dashboard/login';

/** At most this many other targets are kept; the least recently fed goes first. */
const MAX_FEEDS = 8;

/**
 * The control plane's side of the dashboard that outlives a request: who is signed in, the
 * traffic series behind its charts, and the other targets' resources that `mldeploy dashboard
 * --show` feeds it. All in memory.
 */
export class Dashboard {
  readonly sessions = new DashboardSessions();
  readonly series: RequestSeries;
  private readonly feeds = new Map<string, { readonly feed: RemoteTargetFeed; readonly at: number }>();

  /** No I/O: sampling starts with the first sign-in link ({@link watch}). */
  constructor(
    requests: RequestSources,
    private readonly clock: () => number = Date.now,
  ) {
    this.series = new RequestSeries(requests, 2000, 10 * 60_000, () => this.sessions.active);
  }

  /**
   * Starts sampling the traffic for the charts, until no one is signed in (or about to be): a
   * control plane whose dashboard is not open does not pay for it.
   */
  watch(): void {
    this.series.start();
  }

  /**
   * Keeps another target's latest resources, with what looks like a secret masked (a field named
   * like one, a URL's password or token): what the feed's sender filtered is checked again here.
   */
  publish(given: RemoteTargetFeed): void {
    const masked = maskSecrets(given) as RemoteTargetFeed;
    const feed = {
      ...masked,
      uri: maskEmbeddedUrls(masked.uri),
      error: masked.error === null ? null : maskEmbeddedUrls(masked.error),
    };
    this.feeds.delete(given.uri);
    for (const uri of this.feeds.keys()) {
      if (this.feeds.size < MAX_FEEDS) break;
      this.feeds.delete(uri);
    }
    this.feeds.set(given.uri, { feed, at: this.clock() });
  }

  /** The other targets, by URI. */
  targets(): RemoteTarget[] {
    const now = this.clock();
    return [...this.feeds.values()]
      .sort((a, b) => a.feed.uri.localeCompare(b.feed.uri))
      .map(({ feed, at }) => ({
        uri: feed.uri,
        updated_at: new Date(at).toISOString(),
        stale: now - at > 3 * feed.interval_seconds * 1000,
        error: feed.error,
        deployments: feed.deployments,
        endpoints: feed.endpoints,
      }));
  }

  close(): void {
    this.series.stop();
  }
}

/** `text` with every URL in it (a target URI's, an error message's) masked as the audit log masks URLs. */
function maskEmbeddedUrls(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (url) => maskSecrets(url) as string);
}
