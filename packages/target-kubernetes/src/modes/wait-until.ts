import { MlDeployError, pollUntil } from '@mldeploy/core';

/** One look at what is awaited: done (with its result), still waiting (the progress line, and for what), or no answer this time. */
export type Observation<T> = { readonly done: T } | { readonly line: string; readonly waitingFor: string } | undefined;

/**
 * Polls `observe` (100 ms growing to 1 s) until it reports done, printing each new waiting line
 * through `progress` once; an error it throws (a failed rollout) ends the wait at once. Past
 * `timeoutSeconds`: `DEADLINE_EXCEEDED` "`what` … within N s: still waiting for …".
 */
export function waitUntil<T>(options: {
  readonly what: string;
  readonly timeoutSeconds: number;
  readonly progress: (line: string) => void;
  readonly hint: string;
  readonly observe: () => Promise<Observation<T>>;
}): Promise<T> {
  let last: { readonly line: string; readonly waitingFor: string } | undefined;
  return pollUntil(
    async () => {
      const seen = await options.observe();
      if (seen === undefined) return undefined;
      if ('done' in seen) return seen;
      if (seen.line !== last?.line) options.progress(seen.line);
      last = seen;
      return undefined;
    },
    {
      timeoutMs: options.timeoutSeconds * 1000,
      minDelayMs: 100,
      maxDelayMs: 1000,
      onTimeout: () =>
        new MlDeployError(
          'DEADLINE_EXCEEDED',
          `${options.what} within ${options.timeoutSeconds} s${last === undefined ? '' : `: still waiting for ${last.waitingFor}`}`,
          { target: 'kubernetes', hint: options.hint },
        ),
    },
  ).then((seen) => seen.done);
}
