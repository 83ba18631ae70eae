import { pollUntil } from '@mldeploy/core';

/**
 * Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` with
 * `what` in the message. An error thrown by `check` ends the wait at once. The polling interval
 * grows from 20 ms to 250 ms.
 */
export function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  return pollUntil(check, { timeoutMs, onTimeout: () => new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`) });
}
