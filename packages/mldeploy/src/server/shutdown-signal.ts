/** What a second SIGINT or SIGTERM does while the first one's shutdown is under way. */
export type RepeatedSignal =
  /** The signal's default action: a second Ctrl-C ends a process that hangs while stopping. */
  | 'default'
  /** Nothing: for processes that must finish their shutdown (a worker draining its requests). */
  | 'ignore';

/**
 * Calls `onSignal` on the first SIGINT or SIGTERM, the one place where mldeploy's foreground
 * processes (`server run`, `models serve`, `run-local`, model workers) wire those signals.
 * Returns a function that stops listening (after a normal exit, so that a later signal acts as
 * usual).
 *
 * A second signal either takes its default action (`repeated: 'default'`, re-raised so the
 * process dies of it as a shell expects) or is ignored.
 */
export function onShutdownSignal(onSignal: (signal: NodeJS.Signals) => void, repeated: RepeatedSignal = 'default'): () => void {
  let received = false;
  const signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  const dispose = (): void => {
    for (const signal of signals) process.off(signal, listener);
  };
  function listener(signal: NodeJS.Signals): void {
    if (!received) {
      received = true;
      onSignal(signal);
      return;
    }
    if (repeated === 'ignore') return;
    dispose();
    process.kill(process.pid, signal);
  }
  for (const signal of signals) process.on(signal, listener);
  return dispose;
}
