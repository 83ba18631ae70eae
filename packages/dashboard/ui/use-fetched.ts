/** One GET of the API for a view, re-run when its route changes or on demand. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import type * as z from 'zod/mini';
import { DashboardError, getJson } from './api.js';

/** The state of a request: its data once it came, or why it failed. */
export interface Fetched<T> {
  readonly data: T | null;
  readonly error: DashboardError | null;
  readonly loading: boolean;
  /** Asks again (after a change the view made). */
  readonly reload: () => void;
}

/** GETs `route` (null: nothing yet) and again whenever `route` or `version` changes. */
export function useFetched<T>(route: string | null, schema: z.ZodMiniType<T>, version: unknown = 0): Fetched<T> {
  const [state, setState] = useState<{ data: T | null; error: DashboardError | null; loading: boolean }>({
    data: null,
    error: null,
    loading: route !== null,
  });
  const [round, setRound] = useState(0);
  useEffect(() => {
    if (route === null) return;
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    getJson(route, schema, controller.signal).then(
      (data) => setState({ data, error: null, loading: false }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setState((previous) => ({
          data: previous.data,
          error: error instanceof DashboardError ? error : new DashboardError(String(error)),
          loading: false,
        }));
      },
    );
    return () => controller.abort();
  }, [route, schema, version, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { ...state, reload };
}
