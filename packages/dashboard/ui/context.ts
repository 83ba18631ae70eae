/** What every view may need from the page around it: the session, the live snapshot, and a voice for results. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Session } from '../src/protocol.js';
import type { LiveState } from './live.js';

/** The page's shared state. */
export interface Page {
  readonly session: Session | null;
  readonly live: LiveState;
  /** Says `text` in the page's `aria-live` region (and shows it). */
  readonly announce: (text: string) => void;
}

/** Provided once by the app. */
export const PageContext = createContext<Page | null>(null);

/** The page's shared state; only inside the app. */
export function usePage(): Page {
  const page = useContext(PageContext);
  if (page === null) throw new Error('usePage() outside the app');
  return page;
}
