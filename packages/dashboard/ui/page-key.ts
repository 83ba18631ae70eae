/**
 * The page's key (see `KEY_HEADER` in the protocol): the sign-in leads to `/dashboard/#key=KEY`;
 * the page moves it into its origin's storage, where other tabs of this dashboard find it and no
 * other port's pages can read it, and takes it out of the address bar and history.
 */
import { KEY_FRAGMENT_PREFIX } from '../src/protocol.js';

const STORAGE_NAME = 'mldeploy-dashboard-key';
/** Where the key lives when the browser refuses storage (private modes): this tab only. */
let inMemory = '';

/** Takes the key from a sign-in address (`#key=…`), if this is one. */
export function adoptKeyFromAddress(): void {
  if (!location.hash.startsWith(KEY_FRAGMENT_PREFIX)) return;
  const key = location.hash.slice(KEY_FRAGMENT_PREFIX.length);
  if (/^[\w-]+$/.test(key)) {
    inMemory = key;
    try {
      localStorage.setItem(STORAGE_NAME, key);
    } catch {
      // Storage refused: the key lives as long as this tab.
    }
  }
  history.replaceState(null, '', `${location.pathname}#/deployments`);
}

/** The key every request carries; empty before any sign-in (the control plane then refuses with 403). */
export function pageKey(): string {
  if (inMemory !== '') return inMemory;
  try {
    return localStorage.getItem(STORAGE_NAME) ?? '';
  } catch {
    return '';
  }
}
