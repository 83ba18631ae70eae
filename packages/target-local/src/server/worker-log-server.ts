import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { ReplicaLabel } from './deployment-logs.js';
import { recordWorkerLine } from './log-record.js';
import type { Logger } from './logger.js';
import { WORKER_LOG_ACK, workerHelloSchema } from './worker-protocol.js';

/**
 * The control plane's end of the workers' log links ({@link WorkerLogLink}): a Unix socket in the
 * home where each worker names itself in a first line, then sends its log records, which are
 * filed in its deployment's log like those it writes on stdout.
 */
export class WorkerLogServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  /** No I/O: {@link listen} binds. */
  constructor(
    private readonly socketPath: string,
    private readonly logFor: (replica: ReplicaLabel) => Logger,
  ) {}

  /** Listens; a socket file left by an earlier control plane (the home's lock is held) is replaced. */
  async listen(): Promise<void> {
    rmSync(this.socketPath, { force: true });
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    server.unref();
    this.server = server;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => this.sockets.delete(socket));
    let log: Logger | undefined;
    createInterface({ input: socket, crlfDelay: Infinity }).on('line', (line) => {
      if (log !== undefined) {
        recordWorkerLine(log, line, 'stdout');
        return;
      }
      const hello = workerHelloSchema.safeParse(safeJson(line));
      if (!hello.success) {
        socket.destroy();
        return;
      }
      log = this.logFor(hello.data);
      // The worker sends what it kept only after this: a connection that reached a dying control
      // plane's listener (queued, then reset) never gets it, and the worker keeps its lines.
      socket.write(WORKER_LOG_ACK);
    });
  }

  /** Stops listening and drops the links (workers reconnect to the next control plane). */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
