/** Sends `body` as predictions to `url`, `concurrency` at a time, until stopped; `stop` says how many answered each status (0: no answer). */
export function sendTraffic(url: string, body: unknown, concurrency = 2): { stop: () => Promise<Record<number, number>> } {
  let stopped = false;
  const statuses: Record<number, number> = {};
  const worker = async (): Promise<void> => {
    while (!stopped) {
      const status = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
        .then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        })
        .catch(() => 0);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  const workers = Array.from({ length: concurrency }, () => worker());
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
      return statuses;
    },
  };
}
