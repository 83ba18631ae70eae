/**
 * How figures read on the page. Every function takes what the protocol allows (null for "not
 * known") and answers text, so a missing figure reads as a dash instead of `NaN` or `null`.
 */
import type { DeploymentState, RolloutState } from '../src/protocol.js';

/** What the page shows for a figure that is not known. */
export const NO_VALUE = '–';

const isNumber = (value: number | null | undefined): value is number => typeof value === 'number' && Number.isFinite(value);

/** A plain number with at most `digits` decimals (trailing zeros dropped): `12.5`, `3`. */
export function formatNumber(value: number | null | undefined, digits = 2): string {
  if (!isNumber(value)) return NO_VALUE;
  return String(Number(value.toFixed(digits)));
}

/** A 0–1 share as a percentage: `0.0123` → `1.23 %`. */
export function formatRate(value: number | null | undefined, digits = 2): string {
  return isNumber(value) ? `${formatNumber(value * 100, digits)} %` : NO_VALUE;
}

/** A number already in percent: `10` → `10 %`. */
export function formatPercent(value: number | null | undefined): string {
  return isNumber(value) ? `${formatNumber(value, 1)} %` : NO_VALUE;
}

/** Milliseconds: `12.3456` → `12.35 ms`. */
export function formatMs(value: number | null | undefined): string {
  return isNumber(value) ? `${formatNumber(value, 2)} ms` : NO_VALUE;
}

/** Requests per second: `1.5` → `1.5`; the unit is in the column heading. */
export function formatRps(value: number | null | undefined): string {
  return formatNumber(value, 2);
}

/** An ISO time as the reader's local date and time; text that is not a date is shown as it is. */
export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return NO_VALUE;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** How long ago `iso` was, from `now`: `5 s ago`, `3 min ago`, `2 h ago`, `4 d ago`. */
export function formatAge(iso: string, now: Date): string {
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return iso;
  const seconds = Math.max(0, Math.round((now.getTime() - then) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** Any JSON value as one line of text (strings without quotes). */
export function formatValue(value: unknown): string {
  if (value === undefined) return NO_VALUE;
  if (typeof value === 'string') return value;
  return json(value, undefined);
}

/** Any JSON value indented, for config and state. */
export function formatJson(value: unknown): string {
  return json(value, 2);
}

/** JSON text of anything; what JSON cannot write (a cycle, a function) reads as a dash. */
function json(value: unknown, indent: number | undefined): string {
  try {
    return JSON.stringify(value, null, indent) ?? NO_VALUE;
  } catch {
    return NO_VALUE;
  }
}

/** A state's symbol and the tone the stylesheet colours it in; the word itself is always shown too. */
export interface StateLook {
  readonly symbol: string;
  readonly tone: 'good' | 'warn' | 'bad' | 'neutral' | 'active';
}

const STATE_LOOKS: Readonly<Record<DeploymentState | RolloutState, StateLook>> = {
  ready: { symbol: '✓', tone: 'good' },
  degraded: { symbol: '▲', tone: 'warn' },
  unavailable: { symbol: '✕', tone: 'bad' },
  failed: { symbol: '✕', tone: 'bad' },
  running: { symbol: '▶', tone: 'active' },
  paused: { symbol: '‖', tone: 'warn' },
  succeeded: { symbol: '✓', tone: 'good' },
  rolled_back: { symbol: '↩', tone: 'bad' },
  aborted: { symbol: '■', tone: 'neutral' },
};

/** Other targets' words for the same states (Kubernetes, SageMaker, KServe), lower-cased. */
const REMOTE_STATES: Readonly<Record<string, keyof typeof STATE_LOOKS>> = {
  available: 'ready',
  inservice: 'ready',
  healthy: 'ready',
  true: 'ready',
  creating: 'running',
  updating: 'running',
  pending: 'running',
  progressing: 'running',
  systemupdating: 'running',
  rollingback: 'rolled_back',
  outofservice: 'unavailable',
  deleting: 'aborted',
  false: 'unavailable',
};

/** The look of a deployment's, rollout's or remote record's state (a state it does not know: `?`). */
export function stateLook(state: string): StateLook {
  if (Object.hasOwn(STATE_LOOKS, state)) return STATE_LOOKS[state as keyof typeof STATE_LOOKS];
  const key = state.toLowerCase().replace(/[^a-z]/g, '');
  if (Object.hasOwn(STATE_LOOKS, key)) return STATE_LOOKS[key as keyof typeof STATE_LOOKS];
  return Object.hasOwn(REMOTE_STATES, key) ? STATE_LOOKS[REMOTE_STATES[key]!] : { symbol: '?', tone: 'neutral' };
}
