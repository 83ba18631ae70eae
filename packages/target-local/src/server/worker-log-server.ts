import type { Socket } from 'node:net';
import type { ReplicaLabel } from './deployment-logs.js';
import { recordWorkerLine } from './log-record.js';
import type { Logger } from './logger.js';
import { UnixLineServer, parseLine } from './unix-line-server.js';
import { WORKER_LOG_ACK, workerHelloSchema } from './worker-protocol.js';

/**
 * The control plane's end of the workers' log links ({@link WorkerLogLink}): a Unix socket in the
 * home where each worker names itself in a first line, then sends its log records, which are
 * filed in its deployment's log like those it writes on stdout.
 */
export class WorkerLogServer {
  private readonly server: UnixLineServer;

  /** No I/O: {@link listen} binds. */
  constructor(
    socketPath: string,
    private readonly logFor: (replica: ReplicaLabel) => Logger,
  ) {
    this.server = new UnixLineServer(socketPath, (socket) => this.accept(socket));
  }

  /** Listens; a socket file left by an earlier control plane (the home's lock is held) is replaced. */
  async listen(): Promise<void> {
    await this.server.listen();
  }

  private accept(socket: Socket): (line: string) => void {
    let log: Logger | undefined;
    return (line) => {
      if (log !== undefined) {
        recordWorkerLine(log, line, 'stdout');
        return;
      }
      const hello = workerHelloSchema.safeParse(parseLine(line));
      if (!hello.success) {
        socket.destroy();
        return;
      }
      log = this.logFor(hello.data);
      // The worker sends what it kept only after this: a connection that reached a dying control
      // plane's listener (queued, then reset) never gets it, and the worker keeps its lines.
      socket.write(WORKER_LOG_ACK);
    };
  }

  /** Stops listening and drops the links (workers reconnect to the next control plane). */
  async close(): Promise<void> {
    await this.server.close();
  }
}
