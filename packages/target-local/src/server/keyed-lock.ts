/**
 * Runs asynchronous work one at a time per key: work for a key starts when the work queued before
 * it for the same key has settled (failed or not); work for different keys runs in parallel.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Queues `work` behind the work already queued for `key`; resolves or rejects as it does. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.tails.set(key, next);
    // The map holds only keys with work pending, so it does not grow with every name ever used.
    void next
      .finally(() => {
        if (this.tails.get(key) === next) this.tails.delete(key);
      })
      .catch(() => undefined);
    return next;
  }
}
