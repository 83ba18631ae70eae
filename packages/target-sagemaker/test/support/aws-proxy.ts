import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with a request: passes it on, passes it on and loses the answer (500), or nothing (answered already). */
export type ProxyAction = 'forward' | 'lose' | 'answered';

/** A running proxy in front of moto. */
export interface AwsProxy {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * A PROXY IN FRONT OF MOTO (test only), for what moto does not play: `decide` sees each request
 * and may answer it itself (throttling, a bucket not there yet), let it through, or let it
 * through and answer 500 instead of moto's answer (a call AWS made whose answer was lost).
 */
export async function startAwsProxy(
  target: string,
  decide: (request: IncomingMessage, response: ServerResponse) => ProxyAction,
): Promise<AwsProxy> {
  const upstream = new URL(target);
  const server: Server = createServer((request, response) => {
    const action = decide(request, response);
    if (action === 'answered') {
      request.resume();
      return;
    }
    const forwarded = httpRequest(
      { host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers },
      (answer) => {
        if (action === 'lose') {
          answer.resume();
          response.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
          response.end(JSON.stringify({ __type: 'InternalFailure', message: 'the answer was lost' }));
          return;
        }
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
