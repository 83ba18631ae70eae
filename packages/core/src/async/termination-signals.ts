const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Calls `onSignal` once, at the first SIGINT or SIGTERM this process receives, instead of Node's
 * default of exiting at once: servers use it to finish the requests in flight. Returns a function
 * that removes the handlers (call it once the work is done, so a later signal acts normally).
 */
export function onTerminationSignal(onSignal: (signal: NodeJS.Signals) => void): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    remove();
    onSignal(signal);
  };
  const remove = (): void => {
    for (const name of SIGNALS) process.off(name, handler);
  };
  for (const name of SIGNALS) process.once(name, handler);
  return remove;
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
