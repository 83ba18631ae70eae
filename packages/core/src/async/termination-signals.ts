/** What a second SIGINT or SIGTERM does while the first one's shutdown is under way. */
export type RepeatedSignal =
  /** The signal's default action: a second Ctrl-C ends a process that hangs while stopping. */
  | 'default'
  /** Nothing: for processes that must finish their shutdown (a worker draining its requests). */
  | 'ignore';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Calls `onSignal` at the first SIGINT or SIGTERM instead of Node's default of exiting at once,
 * so that a server can finish the requests in flight: the one place where mldeploy's foreground
 * processes (`server run`, `models serve`, `run-local`, model workers) wire those signals.
 * Returns a function that stops listening (call it after a normal exit, so that a later signal
 * acts as usual).
 *
 * A second signal either takes its default action (`repeated: 'default'`, re-raised so that the
 * process dies of it as a shell expects) or is ignored.
 */
export function onTerminationSignal(onSignal: (signal: NodeJS.Signals) => void, repeated: RepeatedSignal = 'default'): () => void {
  let received = false;
  const dispose = (): void => {
    for (const signal of SIGNALS) process.off(signal, listener);
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
  for (const signal of SIGNALS) process.on(signal, listener);
  return dispose;
}

/**
 * An AbortSignal that aborts at the first SIGINT or SIGTERM, with `dispose` to stop listening:
 * for foreground commands that pass a signal down (`run-local`).
 */
export function terminationSignal(): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const dispose = onTerminationSignal((name) => controller.abort(name));
  return { signal: controller.signal, dispose };
}
