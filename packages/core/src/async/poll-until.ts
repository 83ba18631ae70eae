/** Settings of {@link pollUntil}. */
export interface PollOptions {
  /** How long to keep trying before `onTimeout`'s error is thrown. */
  readonly timeoutMs: number;
  /** The first pause between checks; it doubles up to `maxDelayMs`. Default 20 ms. */
  readonly minDelayMs?: number;
  /** Default 250 ms. */
  readonly maxDelayMs?: number;
  /** The error for a deadline passed: say what was awaited and what to check. */
  readonly onTimeout: () => Error;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `check` until it returns something other than `undefined`, pausing between calls with a
 * growing delay, and throws `onTimeout()` once `timeoutMs` has passed. An error thrown by `check`
 * ends the wait at once: it is for conditions that can never come true (a process that exited).
 */
export async function pollUntil<T>(check: () => Promise<T | undefined> | T | undefined, options: PollOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const maxDelay = options.maxDelayMs ?? 250;
  for (let delay = options.minDelayMs ?? 20; ; delay = Math.min(delay * 2, maxDelay)) {
    const value = await check();
    if (value !== undefined) return value;
    const left = deadline - Date.now();
    if (left <= 0) throw options.onTimeout();
    await pause(Math.min(delay, left));
  }
}
