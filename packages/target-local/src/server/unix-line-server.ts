import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { onLines } from './read-lines.js';

/** The longest line a client may send (a routing snapshot of thousands of deployments fits). */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * A Unix socket in the home (owner-only) whose clients send lines: the workers' log links, the
 * control plane's calls to the gateway. `accept` is called for each connection and returns what
 * handles its lines, in order.
 */
export class UnixLineServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  /** No I/O: {@link listen} binds. */
  constructor(
    private readonly socketPath: string,
    private readonly accept: (socket: Socket) => (line: string) => void,
  ) {}

  /**
   * Listens. A socket file there is a dead process's: whoever serves this socket holds a lock on
   * it (the home's lock, or no live gateway answered on it).
   */
  async listen(): Promise<void> {
    await rm(this.socketPath, { force: true });
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => this.sockets.delete(socket));
      // readline keeps a line until its newline comes: a client that never sends one is cut off.
      let open = 0;
      socket.on('data', (chunk: Buffer) => {
        const newline = chunk.lastIndexOf(10);
        open = newline === -1 ? open + chunk.length : chunk.length - newline - 1;
        if (open > MAX_LINE_BYTES) socket.destroy();
      });
      onLines(socket, this.accept(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    await chmod(this.socketPath, 0o600);
    // Never what keeps a process alive: it runs for as long as it serves something else.
    server.unref();
    this.server = server;
  }

  /** Stops listening and drops the connections. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A line's JSON, or undefined when it is not JSON. */
export function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
