import { connect, type Socket } from 'node:net';
import { onLines } from './read-lines.js';
import { MlDeployError } from '@mldeploy/core';
import { gatewayAnswerSchema, type GatewayCall } from './gateway-protocol.js';
import { parseLine } from './unix-line-server.js';

type Call = GatewayCall extends infer C ? (C extends GatewayCall ? Omit<C, 'id'> : never) : never;

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * The control plane's connection to its gateway process over `run/gateway.sock`: calls go out as
 * JSON lines and resolve with the answer of the same `id`. Calls sent in order are applied in
 * order (see GatewayControlServer).
 */
export class GatewayLink {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closeHandlers: (() => void)[] = [];
  private closing = false;

  private constructor(private readonly socket: Socket) {
    socket.on('error', () => undefined);
    onLines(socket, (line) => this.answered(line));
    socket.once('close', () => {
      for (const [id, call] of this.pending) {
        clearTimeout(call.timer);
        call.reject(new Error('the gateway process closed its control socket'));
        this.pending.delete(id);
      }
      if (!this.closing) for (const handler of this.closeHandlers) handler();
    });
  }

  /**
   * Connects to the gateway's control socket.
   *
   * @throws Error when nothing listens there within `timeoutMs`.
   */
  static connect(socketPath: string, timeoutMs = 2_000): Promise<GatewayLink> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketPath);
      const timer = setTimeout(() => socket.destroy(new Error(`no answer on ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', reject);
        resolve(new GatewayLink(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Called once when the gateway closes the connection without being asked (it exited). */
  onClose(handler: () => void): void {
    this.closeHandlers.push(handler);
  }

  /**
   * Sends one call and resolves with its result.
   *
   * @throws MlDeployError `TEMPORARILY_UNAVAILABLE` when the gateway fails it, goes away, or does not answer within `timeoutMs`.
   */
  call(call: Call, timeoutMs = 10_000): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const fail = (why: string): MlDeployError =>
        new MlDeployError('TEMPORARILY_UNAVAILABLE', `The gateway process did not take "${call.type}": ${why}`, { target: 'local' });
      if (this.socket.destroyed) {
        reject(fail('the connection to it is closed'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(fail(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject: (error) => reject(fail(error.message)), timer });
      this.socket.write(`${JSON.stringify({ ...call, id })}\n`);
    });
  }

  private answered(line: string): void {
    const answer = gatewayAnswerSchema.safeParse(parseLine(line));
    if (!answer.success) return;
    const call = this.pending.get(answer.data.id);
    if (call === undefined) return;
    this.pending.delete(answer.data.id);
    clearTimeout(call.timer);
    if (answer.data.error !== undefined) call.reject(new Error(answer.data.error));
    else call.resolve(answer.data.result);
  }

  /** Closes the connection (the gateway goes on serving). */
  close(): void {
    this.closing = true;
    this.socket.destroy();
  }
}
