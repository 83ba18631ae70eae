import { afterEach, describe, expect, it, vi } from 'vitest';
import { onTerminationSignal } from '@mldeploy/core';

describe('onTerminationSignal', () => {
  afterEach(() => vi.restoreAllMocks());

  // The helper's own listener is called directly: emitting a signal on the test process would
  // reach the test runner's listeners too.
  const listenerFor = (signal: NodeJS.Signals): ((signal: NodeJS.Signals) => void) =>
    process.listeners(signal).at(-1) as (signal: NodeJS.Signals) => void;

  it('calls back once; a repeated signal takes its default action, or is ignored; dispose stops listening', () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const before = process.listenerCount('SIGINT');
    const beforeTerm = process.listenerCount('SIGTERM');
    const seen: string[] = [];
    const dispose = onTerminationSignal((signal) => seen.push(signal));
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    const listener = listenerFor('SIGTERM');
    expect(listenerFor('SIGINT')).toBe(listener);
    listener('SIGTERM');
    expect(seen).toEqual(['SIGTERM']);
    listener('SIGINT');
    expect(seen).toEqual(['SIGTERM']);
    expect(kill).toHaveBeenCalledWith(process.pid, 'SIGINT');
    // Re-raised with the listener gone, so the signal's default action applies.
    expect(process.listenerCount('SIGINT')).toBe(before);
    dispose();
    const ignored: string[] = [];
    const disposeIgnoring = onTerminationSignal((signal) => ignored.push(signal), 'ignore');
    const ignoring = listenerFor('SIGINT');
    ignoring('SIGINT');
    ignoring('SIGTERM');
    expect(ignored).toEqual(['SIGINT']);
    expect(kill).toHaveBeenCalledTimes(1);
    disposeIgnoring();
    expect(process.listenerCount('SIGINT')).toBe(before);
    expect(process.listenerCount('SIGTERM')).toBe(beforeTerm);
  });
});
