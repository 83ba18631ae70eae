import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { EventStreamCodec } from '@smithy/core/event-streams';

/** One InvokeEndpoint call as the stand-in received it. */
interface InvokeRecord {
  readonly endpoint: string;
  readonly targetVariant: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** A running stand-in for SageMaker Runtime's front end. */
export interface RuntimeFrontEnd {
  readonly url: string;
  readonly calls: InvokeRecord[];
  /**
   * Set to make the next response stream end, after its first part, with that error event
   * (`:message-type` exception), as SageMaker ends a stream the model (or SageMaker) broke.
   */
  failNextStream: 'ModelStreamError' | 'InternalStreamFailure' | undefined;
  stop(): Promise<void>;
}

function read(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/**
 * A STAND-IN FOR SAGEMAKER RUNTIME'S FRONT END (test only): moto runs no model, and no real
 * SageMaker is reachable here. It answers `InvokeEndpoint` (`POST /endpoints/{name}/invocations`)
 * as SageMaker does for an endpoint that moto holds: the request's body and content type go to
 * the serving container's `/invocations` (here the image's own command, run on this machine by
 * {@link startSageMakerContainerLocally}), its answer comes back as it is, and a container error
 * comes back as SageMaker's `ModelError` (424, with the container's status and body). An
 * endpoint moto does not hold gets SageMaker's ValidationError. Everything mldeploy's client
 * does is real: the AWS SDK, its signing and its parsing.
 */
export async function startRuntimeFrontEnd(options: {
  readonly container: string;
  readonly moto: SageMakerClient;
}): Promise<RuntimeFrontEnd> {
  const calls: InvokeRecord[] = [];
  const state: { failNextStream: RuntimeFrontEnd['failNextStream'] } = { failNextStream: undefined };
  const codec = new EventStreamCodec(
    (bytes) => Buffer.from(bytes).toString('utf8'),
    (text) => new Uint8Array(Buffer.from(text, 'utf8')),
  );
  const server: Server = createServer((request, response) => {
    void (async () => {
      const match = /^\/endpoints\/([^/]+)\/(invocations|invocations-response-stream)$/.exec(request.url ?? '');
      const body = await read(request);
      const json = (status: number, type: string, payload: Record<string, unknown>): void => {
        response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
        response.end(JSON.stringify(payload));
      };
      if (request.method !== 'POST' || match === null) return json(404, 'UnknownOperationException', { message: 'not InvokeEndpoint' });
      const endpoint = decodeURIComponent(match[1]!);
      const header = (name: string): string | undefined => {
        const value = request.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      calls.push({
        endpoint,
        targetVariant: header('x-amzn-sagemaker-target-variant'),
        contentType: header('content-type'),
        body: body.toString('utf8'),
      });
      try {
        await options.moto.send(new DescribeEndpointCommand({ EndpointName: endpoint }));
      } catch {
        return json(400, 'ValidationError', { message: `Endpoint ${endpoint} of account 123456789012 not found.` });
      }
      const answer = await fetch(`${options.container}/invocations`, {
        method: 'POST',
        headers: { 'content-type': header('content-type') ?? 'application/json', accept: header('accept') ?? 'application/json' },
        body,
      });
      const text = await answer.text();
      if (!answer.ok) {
        return json(424, 'ModelError', {
          message: `Received client error (${answer.status}) from primary with message "${text}".`,
          OriginalStatusCode: answer.status,
          OriginalMessage: text,
          LogStreamArn: `arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/${endpoint}`,
        });
      }
      if (match[2] === 'invocations-response-stream') {
        // InvokeEndpointWithResponseStream: the answer as PayloadPart events, cut mid-line as a
        // streaming container's chunks may be, one JSON line per record.
        const lines = Buffer.from(`${text}\n${JSON.stringify({ done: true })}\n`);
        const parts = [lines.subarray(0, 7), lines.subarray(7)];
        response.writeHead(200, {
          'content-type': 'application/vnd.amazon.eventstream',
          'x-amzn-sagemaker-content-type': 'application/jsonlines',
        });
        const failure = state.failNextStream;
        state.failNextStream = undefined;
        for (const part of failure === undefined ? parts : parts.slice(0, 1)) {
          response.write(
            codec.encode({
              headers: {
                ':message-type': { type: 'string', value: 'event' },
                ':event-type': { type: 'string', value: 'PayloadPart' },
                ':content-type': { type: 'string', value: 'application/octet-stream' },
              },
              body: new Uint8Array(part),
            }),
          );
        }
        if (failure !== undefined) {
          response.write(
            codec.encode({
              headers: {
                ':message-type': { type: 'string', value: 'exception' },
                ':exception-type': { type: 'string', value: failure },
                ':content-type': { type: 'string', value: 'application/json' },
              },
              body: new Uint8Array(
                Buffer.from(
                  JSON.stringify(
                    failure === 'ModelStreamError'
                      ? { Message: 'the model broke off', ErrorCode: 'ModelError' }
                      : { message: 'stream lost' },
                  ),
                ),
              ),
            }),
          );
        }
        return response.end();
      }
      response.writeHead(200, {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
        'x-amzn-invoked-production-variant': header('x-amzn-sagemaker-target-variant') ?? 'primary',
      });
      response.end(text);
    })().catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'application/json', 'x-amzn-errortype': 'InternalFailure' });
      response.end(JSON.stringify({ message: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    get failNextStream() {
      return state.failNextStream;
    },
    set failNextStream(value) {
      state.failNextStream = value;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
