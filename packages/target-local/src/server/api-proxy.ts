import { Agent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { MlDeployError } from '@mldeploy/core';
import { refuse } from './host-check.js';

/** Headers about one connection, not the request: the hop to the control plane has its own. */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade']);

/** `headers` without the hop-by-hop ones. */
function endToEnd(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_HEADERS.has(name)));
}

/**
 * Forwards what the gateway does not answer itself (the REST API, `/metrics`, unknown paths) to
 * the control plane's Unix socket (`run/api.sock`), as it came: method, path, headers (Host,
 * Origin, Authorization: the control plane checks them) and body, streamed both ways. With no
 * control plane listening there, the caller gets 503, and the gateway goes on serving predictions.
 */
export class ApiProxy {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  /** No I/O. `home` names the home in the 503 answer. */
  constructor(
    private readonly socketPath: string,
    private readonly home: string,
  ) {}

  forward(request: IncomingMessage, response: ServerResponse): void {
    const headers = endToEnd(request.headers);
    const upstream = httpRequest(
      { socketPath: this.socketPath, method: request.method, path: request.url, headers, agent: this.agent },
      (answer: IncomingMessage) => {
        const back = endToEnd(answer.headers);
        // A control plane that closes the connection after its answer (a refused request) closes
        // the caller's too; so does an answer that comes before the whole body (see below).
        if (answer.headers.connection === 'close' || !request.readableEnded) back['connection'] = 'close';
        response.writeHead(answer.statusCode ?? 502, back);
        answer.pipe(response);
        answer.once('aborted', () => response.destroy());
        answer.once('end', () => {
          if (request.readableEnded) return;
          // Answered before the body was all sent (a refusal from the headers): the control plane
          // stops reading it, so forwarding the rest would stall on backpressure and hold the
          // caller's connection. The rest is dropped, and the upstream connection, left mid-body,
          // is not reused.
          request.unpipe(upstream);
          request.resume();
          upstream.destroy();
        });
      },
    );
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      request.unpipe(upstream);
      request.resume();
      refuse(response, 503, this.unavailable(error));
    });
    response.once('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.pipe(upstream);
  }

  private unavailable(error: NodeJS.ErrnoException): MlDeployError {
    const none = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
    return new MlDeployError(
      'TEMPORARILY_UNAVAILABLE',
      none
        ? `No control plane is running for ${this.home}; deployments and endpoints go on serving`
        : `The control plane for ${this.home} did not answer: ${error.message}`,
      {
        target: 'local',
        hint: `Run any mldeploy command against it (it starts the control plane), or 'mldeploy server start --home ${this.home}'.`,
      },
    );
  }

  /** Closes the idle connections to the control plane. */
  close(): void {
    this.agent.destroy();
  }
}
