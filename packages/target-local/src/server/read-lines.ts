import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/**
 * Calls `onLine` with each whole line of `input`, however its chunks split them. The stream's
 * errors end the reading quietly: readline passes them on as 'error' events, and unheard, one
 * would end the process. A peer that goes away with answers unread (a worker or a gateway
 * killed mid-conversation) resets the connection: that is an end of input, not a crash. Whoever
 * owns the stream learns of its end from 'close'.
 */
export function onLines(input: Readable, onLine: (line: string) => void): void {
  createInterface({ input, crlfDelay: Infinity })
    .on('line', onLine)
    .on('error', () => undefined);
}
