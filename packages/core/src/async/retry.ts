import { MlDeployError } from '../errors/index.js';

/** Settings of {@link retry}. */
export interface RetryOptions {
  /** Attempts after the first one. */
  readonly retries: number;
  /** The backoff's base: attempt n waits a random time up to `baseDelayMs × 2^n`. */
  readonly baseDelayMs: number;
  /** The longest pause; a server asking for a longer one (Retry-After) is not retried. Default 30 s. */
  readonly maxDelayMs?: number;
  /** Whether a failure may succeed next time; default {@link isTransient}. */
  readonly isRetryable?: (error: unknown) => boolean;
  /** Called before each pause, e.g. to log the retry. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Waits `ms`; replaceable so that tests can record the pauses instead of taking them. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1) for the jitter; replaceable for tests. */
  readonly random?: () => number;
}

const TRANSIENT_CODES = new Set(['TEMPORARILY_UNAVAILABLE', 'DEADLINE_EXCEEDED', 'REQUEST_LIMIT_EXCEEDED']);

/**
 * Whether an error is worth retrying: a server that was unreachable, slow, rate limiting (429) or
 * failing with a 5xx may answer next time. Any other error is final.
 */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof MlDeployError)) return false;
  const status = error.details?.['status'];
  return TRANSIENT_CODES.has(error.code) || (typeof status === 'number' && (status === 429 || status >= 500));
}

/** The pause a server asked for with `Retry-After`, as recorded by `httpRequest`, in ms. */
export function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof MlDeployError)) return undefined;
  const value = error.details?.['retry_after_ms'];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Parses a `Retry-After` header (delay-seconds or an HTTP date) into milliseconds from `now`.
 * Returns `undefined` for a missing or malformed header.
 */
export function parseRetryAfter(header: string | null | undefined, now = Date.now()): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `work` until it succeeds, retrying failures that may pass ({@link isTransient} by default)
 * up to `retries` times. Pauses use exponential backoff with full jitter, so that many clients
 * failing together do not come back together; a server's `Retry-After` is honoured instead when
 * it gave one. The last error is thrown as it was.
 */
export async function retry<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const isRetryable = options.isRetryable ?? isTransient;
  const maxDelay = options.maxDelayMs ?? 30_000;
  const random = options.random ?? Math.random;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt >= options.retries || !isRetryable(error)) throw error;
      const asked = retryAfterMs(error);
      if (asked !== undefined && asked > maxDelay) throw error;
      const delay = asked ?? Math.round(random() * Math.min(maxDelay, options.baseDelayMs * 2 ** attempt));
      options.onRetry?.(error, attempt + 1, delay);
      await (options.sleep ?? sleep)(delay);
    }
  }
}
