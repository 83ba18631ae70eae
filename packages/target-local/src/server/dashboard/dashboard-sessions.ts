import { randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A signed-in browser: who opened it (the audit log's actor for its actions), the id its cookie
 * carries and the page's key (see `KEY_HEADER` in @mldeploy/dashboard), which every request
 * must carry too.
 */
export interface DashboardSession {
  readonly id: string;
  readonly actor: string;
  readonly key: string;
  /** When it ends if unused (renewed by each request but the event stream's checks). */
  expiresAt: number;
  /** When it ends however much it is used. */
  readonly endsAt: number;
}

/** How long sign-in links and sessions last, and how many may be held at once. */
export interface DashboardSessionLimits {
  readonly codeTtlMs: number;
  readonly sessionIdleMs: number;
  readonly sessionMaxMs: number;
  readonly maxCodes: number;
  readonly maxSessions: number;
}

/**
 * A link is meant to be opened right away, by the person who ran `mldeploy dashboard`; a session
 * lasts 12 hours without use, a day at most. The bounds keep a caller with the token (who can
 * mint links at will) from growing the control plane's memory.
 */
export const DEFAULT_SESSION_LIMITS: DashboardSessionLimits = {
  codeTtlMs: 2 * 60_000,
  sessionIdleMs: 12 * 3600_000,
  sessionMaxMs: 24 * 3600_000,
  maxCodes: 64,
  maxSessions: 64,
};

const secret = (): string => randomBytes(32).toString('base64url');

/**
 * The dashboard's sign-in: a caller of the API (who holds the home's token) gets a one-time code
 * for a link; the browser that opens the link first gets a session, named by an HttpOnly cookie,
 * and the code is spent. Held in memory only: a control plane that restarts signs everyone out.
 */
export class DashboardSessions {
  private readonly codes = new Map<string, { readonly actor: string; readonly expiresAt: number }>();
  private readonly sessions = new Map<string, DashboardSession>();

  constructor(
    private readonly limits: DashboardSessionLimits = DEFAULT_SESSION_LIMITS,
    private readonly clock: () => number = Date.now,
  ) {}

  /** A new one-time code for `actor`, valid for {@link DashboardSessionLimits.codeTtlMs}. */
  issueCode(actor: string): { readonly code: string; readonly expiresAt: number } {
    this.sweep();
    evictOldest(this.codes, this.limits.maxCodes);
    const code = secret();
    const expiresAt = this.clock() + this.limits.codeTtlMs;
    this.codes.set(code, { actor, expiresAt });
    return { code, expiresAt };
  }

  /** Spends `code` for a new session; undefined when it is unknown, spent or expired. */
  redeem(code: string): DashboardSession | undefined {
    this.sweep();
    const found = this.codes.get(code);
    if (found === undefined) return undefined;
    this.codes.delete(code);
    evictOldest(this.sessions, this.limits.maxSessions);
    const now = this.clock();
    const session: DashboardSession = {
      id: secret(),
      actor: found.actor,
      key: secret(),
      expiresAt: Math.min(now + this.limits.sessionIdleMs, now + this.limits.sessionMaxMs),
      endsAt: now + this.limits.sessionMaxMs,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session a cookie names (its idle time starts again), or undefined. */
  session(id: string | undefined): DashboardSession | undefined {
    const found = this.peek(id);
    if (found !== undefined) found.expiresAt = Math.min(this.clock() + this.limits.sessionIdleMs, found.endsAt);
    return found;
  }

  /** The live session a cookie names, without counting this as use (an open event stream is not use). */
  peek(id: string | undefined): DashboardSession | undefined {
    if (id === undefined) return undefined;
    const found = this.sessions.get(id);
    if (found === undefined) return undefined;
    if (found.expiresAt <= this.clock()) {
      this.sessions.delete(id);
      return undefined;
    }
    return found;
  }

  /** Whether `given` is the session's page key (constant time). */
  static keyMatches(session: DashboardSession, given: string | undefined): boolean {
    const a = Buffer.from(given ?? '');
    const b = Buffer.from(session.key);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Whether anyone is signed in (or about to be): the charts' sampling runs while so. */
  get active(): boolean {
    this.sweep();
    return this.sessions.size > 0 || this.codes.size > 0;
  }

  private sweep(): void {
    const now = this.clock();
    for (const [code, { expiresAt }] of this.codes) if (expiresAt <= now) this.codes.delete(code);
    for (const [id, { expiresAt }] of this.sessions) if (expiresAt <= now) this.sessions.delete(id);
  }
}

/** Makes room for one more entry in a map kept in insertion order: the oldest go first. */
function evictOldest<V>(map: Map<string, V>, max: number): void {
  for (const key of map.keys()) {
    if (map.size < max) return;
    map.delete(key);
  }
}
