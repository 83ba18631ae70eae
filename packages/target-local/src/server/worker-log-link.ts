import { connect, type Socket } from 'node:net';
import type { DestinationStream } from 'pino';
import type { WorkerHello } from './worker-protocol.js';

/** What a worker keeps while no control plane listens: enough for the story of a restart, not a flood. */
const BUFFER_LIMIT = 256 * 1024;
const RECONNECT_MS = 500;

/**
 * A worker's log lines to whichever control plane runs now, over the Unix socket in the home
 * (0700: only the user's processes reach it). While none listens, the newest lines are kept (up
 * to 256 KiB) and sent when one appears, so that a worker adopted after a control-plane crash is
 * still in `mldeploy logs`.
 */
export class WorkerLogLink implements DestinationStream {
  private socket: Socket | undefined;
  private pending: string[] = [];
  private pendingBytes = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /** No I/O: {@link open} connects. */
  constructor(
    private readonly socketPath: string,
    private readonly hello: WorkerHello,
  ) {}

  /** Starts connecting (and reconnecting whenever the control plane goes away). */
  open(): void {
    if (this.closed || this.socket !== undefined) return;
    const socket = connect(this.socketPath);
    socket.unref();
    socket.once('connect', () => socket.write(`${JSON.stringify(this.hello)}\n`));
    // Lines go out only once a live control plane answered the hello: a control plane killed with
    // SIGKILL can still complete a connection in its listener's queue, which is then reset, and
    // what was written to it lost.
    socket.once('data', () => {
      this.socket = socket;
      if (this.dropped > 0) {
        socket.write(
          `${JSON.stringify({ level: 'warn', event: 'log-link', message: `${this.dropped} log line(s) dropped while no control plane listened` })}\n`,
        );
        this.dropped = 0;
      }
      for (const line of this.pending) socket.write(line);
      this.pending = [];
      this.pendingBytes = 0;
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      if (this.socket === socket) this.socket = undefined;
      if (!this.closed) this.timer = setTimeout(() => this.open(), RECONNECT_MS).unref();
    });
  }

  write(line: string): void {
    if (this.socket !== undefined && this.socket.writable) {
      this.socket.write(line);
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    while (this.pendingBytes > BUFFER_LIMIT && this.pending.length > 0) {
      this.pendingBytes -= this.pending.shift()!.length;
      this.dropped += 1;
    }
  }

  /** Sends what is written so far and stops reconnecting; resolves once sent (or after `timeoutMs`). */
  async close(timeoutMs = 2_000): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const socket = this.socket;
    if (socket === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      socket.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
