/** The snapshot stream: the latest valid snapshot and the state of the connection. */
import { useEffect, useState } from 'preact/hooks';
import {
  EVENTS_PATH,
  KEY_QUERY,
  PROBLEM_EVENT,
  SIGNED_OUT_EVENT,
  SNAPSHOT_EVENT,
  problemSchema,
  snapshotSchema,
  type Snapshot,
} from '../src/protocol.js';
import { pageKey } from './page-key.js';

/**
 * `connecting` until the first snapshot; `live` while they come; `reconnecting` after a drop;
 * `closed` when the server refused the stream (EventSource then stops trying: only a reload helps).
 */
export type Connection = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** What {@link useSnapshot} gives. */
export interface LiveState {
  readonly snapshot: Snapshot | null;
  readonly connection: Connection;
  /** Why the last message was refused (the previous snapshot stays shown), or null. */
  readonly problem: string | null;
}

/** Subscribes to the snapshot stream for the life of the component; EventSource reconnects by itself. */
export function useSnapshot(): LiveState {
  const [state, setState] = useState<LiveState>({ snapshot: null, connection: 'connecting', problem: null });
  useEffect(() => {
    // EventSource sends no headers of ours: the key goes in the query (never logged by the control plane).
    const source = new EventSource(`${EVENTS_PATH}?${KEY_QUERY}=${encodeURIComponent(pageKey())}`, { withCredentials: true });
    const onSnapshot = (event: MessageEvent<string>) => {
      let data: unknown;
      try {
        data = JSON.parse(event.data);
      } catch {
        data = undefined;
      }
      const parsed = snapshotSchema.safeParse(data);
      setState((previous) =>
        parsed.success
          ? { snapshot: parsed.data, connection: 'live', problem: null }
          : { ...previous, connection: 'live', problem: 'A snapshot from the control plane could not be read; showing the last good one.' },
      );
    };
    const onError = () =>
      setState((previous) => ({ ...previous, connection: source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting' }));
    const onProblem = (event: MessageEvent<string>) => {
      let message = 'The control plane could not make a snapshot; trying again.';
      try {
        const parsed = problemSchema.safeParse(JSON.parse(event.data));
        if (parsed.success) message = `The control plane could not make a snapshot (${parsed.data.message}); trying again.`;
      } catch {
        // The default message says enough.
      }
      setState((previous) => ({ ...previous, problem: message }));
    };
    const onSignedOut = () => {
      source.close();
      setState((previous) => ({
        ...previous,
        connection: 'closed',
        problem: "The session has expired: run 'mldeploy dashboard' for a new link.",
      }));
    };
    source.addEventListener(SNAPSHOT_EVENT, onSnapshot);
    source.addEventListener(PROBLEM_EVENT, onProblem);
    source.addEventListener(SIGNED_OUT_EVENT, onSignedOut);
    source.addEventListener('error', onError);
    return () => source.close();
  }, []);
  return state;
}
