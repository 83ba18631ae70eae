import { connect } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayControlServer } from '../src/server/gateway-control-server.js';
import { GatewayLink } from '../src/server/gateway-link.js';
import { GatewayRoutes } from '../src/server/gateway-routes.js';
import { MAX_LINE_BYTES, UnixLineServer } from '../src/server/unix-line-server.js';
import { tempDir } from '../../../test/support/temp.js';

/** Sends one raw line to the socket and resolves with the first line it answers. */
function rawCall(socketPath: string, line: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.once('error', reject);
    createInterface({ input: socket }).once('line', (answer) => {
      socket.destroy();
      resolve(JSON.parse(answer));
    });
    socket.write(`${line}\n`);
  });
}

describe("the gateway's control socket", () => {
  const servers: GatewayControlServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  async function serve(routes: GatewayRoutes): Promise<string> {
    const socketPath = path.join(tempDir('gateway-sock'), 'gateway.sock');
    const server = new GatewayControlServer(socketPath, (call) => {
      if (call.type === 'routes') return routes.apply(call.routes);
      if (call.type === 'shadows') return routes.shadows();
      throw new Error(`${call.type} is not served in this test`);
    });
    servers.push(server);
    await server.listen();
    return socketPath;
  }

  it('applies pushed routes in order, keeps a shadow comparison while its shadow stays, and answers each call by id', async () => {
    const routes = new GatewayRoutes();
    const link = await GatewayLink.connect(await serve(routes));
    const deployment = (revision: number) => ({ name: 'a', serving: { revision, maxBodyBytes: 10, timeoutMs: 5, ports: [1234] } });
    const front = (shadow: string) => ({
      name: 'front',
      config: { traffic: { a: 100 }, stickyHeader: null, shadow: { deployment: shadow, percent: 100 } },
    });
    await Promise.all([
      link.call({ type: 'routes', routes: { ready: false, deployments: [deployment(1)], endpoints: [front('b')] } }),
      link.call({ type: 'routes', routes: { ready: true, deployments: [deployment(2)], endpoints: [front('b')] } }),
    ]);
    expect(routes.ready).toBe(true);
    expect(routes.deployment('a')?.revision).toEqual({ deployment: 'a', revision: 2 });
    expect(routes.deployment('a')?.pick()?.port).toBe(1234);
    routes.endpoint('front')!.shadow!.recordError();
    await link.call({ type: 'routes', routes: { ready: true, deployments: [deployment(2)], endpoints: [front('b')] } });
    expect(await link.call({ type: 'shadows' })).toMatchObject({ front: { deployment: 'b', mirrored: 1, errors: 1 } });
    await link.call({ type: 'routes', routes: { ready: true, deployments: [deployment(2)], endpoints: [front('c')] } });
    expect(await link.call({ type: 'shadows' })).toMatchObject({ front: { deployment: 'c', mirrored: 0 } });
    link.close();
  });

  it('answers a line that is not a call, and a call that fails, with an error naming why; the link raises it as TEMPORARILY_UNAVAILABLE', async () => {
    const socketPath = await serve(new GatewayRoutes());
    expect(await rawCall(socketPath, 'not json')).toMatchObject({
      id: -1,
      error: expect.stringMatching(/^not a gateway call: /) as string,
    });
    expect(await rawCall(socketPath, JSON.stringify({ id: 3, type: 'routes', routes: { ready: 'yes' } }))).toMatchObject({
      id: -1,
      error: expect.stringMatching(/^not a gateway call: /) as string,
    });
    const link = await GatewayLink.connect(socketPath);
    await expect(link.call({ type: 'metrics' })).rejects.toMatchObject({
      code: 'TEMPORARILY_UNAVAILABLE',
      message: 'The gateway process did not take "metrics": metrics is not served in this test',
    });
    link.close();
    await expect(link.call({ type: 'hello' })).rejects.toMatchObject({
      message: 'The gateway process did not take "hello": the connection to it is closed',
    });
  });

  it('a client that sends a line longer than MAX_LINE_BYTES is cut off, and the socket goes on answering others', async () => {
    const socketPath = await serve(new GatewayRoutes());
    const flood = connect(socketPath);
    const closed = new Promise<void>((resolve) => flood.once('close', () => resolve()));
    flood.on('error', () => undefined);
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    const send = (left: number): void => {
      if (left > 0 && !flood.destroyed) flood.write(chunk, () => send(left - 1));
    };
    send(MAX_LINE_BYTES / chunk.length + 8);
    await closed;
    expect(await rawCall(socketPath, 'not json')).toMatchObject({ id: -1 });
  });

  it('a client that goes away without reading its answers (a worker killed mid-link) does not take the server down', async () => {
    const socketPath = path.join(tempDir('line-reset'), 'lines.sock');
    let answered!: () => void;
    const answer = new Promise<void>((resolve) => (answered = resolve));
    const server = new UnixLineServer(socketPath, (socket) => (line) => socket.write(`${line}\n`, () => answered()));
    await server.listen();
    try {
      const leaver = connect(socketPath);
      leaver.pause();
      leaver.write('hello\n');
      await answer;
      // Closed with the answer unread: Linux resets the connection, and the server's read fails with ECONNRESET.
      leaver.destroy();
      const echoed = await new Promise<string>((resolve, reject) => {
        const client = connect(socketPath);
        client.once('error', reject);
        createInterface({ input: client }).once('line', (line) => {
          client.destroy();
          resolve(line);
        });
        client.write('still there\n');
      });
      expect(echoed).toBe('still there');
    } finally {
      await server.close();
    }
  });

  it('a control plane finds no gateway on a socket nobody serves', async () => {
    await expect(GatewayLink.connect(path.join(tempDir('gateway-none'), 'gateway.sock'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
