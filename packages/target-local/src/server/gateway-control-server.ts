import type { Socket } from 'node:net';
import { gatewayCallSchema, type GatewayCall } from './gateway-protocol.js';
import { UnixLineServer, parseLine } from './unix-line-server.js';

/**
 * The gateway process's end of `run/gateway.sock`: each line is a call ({@link GatewayCall}),
 * answered by a line with its `id`. A call is handed to `handle` as its line arrives, so that
 * route snapshots, which are applied synchronously, take effect in the order they were sent,
 * while a slow call (a drain) does not hold up the ones after it.
 */
export class GatewayControlServer {
  private readonly server: UnixLineServer;

  /** No I/O: {@link listen} binds. */
  constructor(
    socketPath: string,
    private readonly handle: (call: GatewayCall) => unknown,
  ) {
    this.server = new UnixLineServer(socketPath, (socket) => (line) => this.answer(socket, line));
  }

  /** Listens, owner-only; this process starts only when no live gateway answered there. */
  async listen(): Promise<void> {
    await this.server.listen();
  }

  private answer(socket: Socket, line: string): void {
    const call = gatewayCallSchema.safeParse(parseLine(line));
    if (!call.success) {
      socket.write(`${JSON.stringify({ id: -1, error: `not a gateway call: ${call.error.issues[0]?.message ?? line}` })}\n`);
      return;
    }
    const { id } = call.data;
    // Called at once, not in a later tick: a snapshot is applied before the next line is read.
    const handle = this.handle;
    const answer = (async () => await handle(call.data))();
    answer.then(
      (result) => socket.write(`${JSON.stringify({ id, result: result ?? null })}\n`),
      (error: unknown) => socket.write(`${JSON.stringify({ id, error: (error as Error).message })}\n`),
    );
  }

  /** Stops listening and drops the control plane's connection. */
  async close(): Promise<void> {
    await this.server.close();
  }
}
