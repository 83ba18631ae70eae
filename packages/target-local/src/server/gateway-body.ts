import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { MlDeployError } from '@mldeploy/core';

/**
 * Request bodies up to this size are read whole before they are forwarded, so that they can be
 * sent again: to another replica when the first one's connection breaks, and to an endpoint's
 * shadow. Larger ones go to the worker as they arrive and cannot be sent again: keeping their
 * bytes for a second try would be the very buffering that streaming avoids. 64 KiB holds a batch
 * of about a thousand rows of a small tabular model; answers up to this size are kept whole too
 * (sent in one write). At the connection cap (4096), the gateway holds at most 512 MiB.
 */
export const REPLAY_BYTES = 64 * 1024;

/**
 * A prediction's body: read `whole` (at most {@link REPLAY_BYTES}), or only its first `size`
 * bytes (`head`), the rest still to come from the paused request (`rest`), which declared
 * `length` bytes or none (chunked).
 */
export type RequestBody = { readonly whole: Buffer } | StreamedBody;

/** A body too large to keep: see {@link RequestBody}. */
export interface StreamedBody {
  readonly whole: undefined;
  readonly head: readonly Buffer[];
  readonly size: number;
  readonly length: string | undefined;
  readonly rest: IncomingMessage;
}

/** The error for a body over a deployment's `max_body_size`. */
function bodyTooLarge(deployment: string, limit: number): MlDeployError {
  return new MlDeployError(
    'REQUEST_TOO_LARGE',
    `The request body is larger than the limit of deployment "${deployment}" (${limit} bytes)`,
    {
      target: 'local',
      hint: `Send smaller batches, or raise it with 'mldeploy update -t local --name ${deployment} -C max_body_size=BYTES'.`,
    },
  );
}

/**
 * Reads a request body when it is small enough to keep (see {@link RequestBody}). A body over
 * `limit` is refused with `REQUEST_TOO_LARGE` without being read: at once when Content-Length
 * says so, else as soon as the bytes pass it.
 */
export function readBody(request: IncomingMessage, deployment: string, limit: number): Promise<RequestBody> {
  const length = request.headers['content-length'];
  const declared = length === undefined ? undefined : Number(length);
  if (declared !== undefined && declared > limit) return Promise.reject(bodyTooLarge(deployment, limit));
  if (declared !== undefined && declared > REPLAY_BYTES)
    return Promise.resolve({ whole: undefined, head: [], size: 0, length, rest: request });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      chunks.push(chunk);
      // Only a body without Content-Length gets here past REPLAY_BYTES (node:http holds a body to its declared length).
      if (size <= REPLAY_BYTES) return;
      request.pause();
      request.off('data', onData).off('end', onEnd).off('error', reject);
      if (size > limit) reject(bodyTooLarge(deployment, limit));
      else resolve({ whole: undefined, head: chunks, size, length, rest: request });
    };
    const onEnd = (): void => resolve({ whole: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    request.on('data', onData).once('end', onEnd).once('error', reject);
  });
}

/**
 * Sends the rest of a body {@link readBody} did not keep to `upstream` as it arrives, at the pace
 * the worker reads it, counting bytes: past `limit` the upstream request is destroyed with
 * `REQUEST_TOO_LARGE` and the client's stops being read. `sent` is called once all of it has been
 * handed over; a client that goes away before that destroys the upstream request. A worker that
 * answers before the end of the body is sent no more of it.
 */
export function streamBody(
  body: StreamedBody,
  upstream: ClientRequest,
  limit: { readonly deployment: string; readonly bytes: number },
  sent: () => void,
): void {
  const request = body.rest;
  let size = body.size;
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > limit.bytes) {
      request.off('data', onData);
      request.pause();
      upstream.destroy(bodyTooLarge(limit.deployment, limit.bytes));
    } else if (!upstream.write(chunk)) {
      request.pause();
    }
  };
  const onEnd = (): void => {
    upstream.end();
    sent();
  };
  upstream.on('drain', () => request.resume());
  upstream.once('response', (answer: IncomingMessage) => {
    if (request.complete) return;
    // The worker answered before it had the whole body (an error it saw in the headers): it will
    // not read the rest, and its connection cannot be reused with a request half sent.
    request.off('data', onData).off('end', onEnd);
    answer.once('end', () => upstream.destroy());
  });
  request.on('data', onData).once('end', onEnd);
  request.once('close', () => {
    if (!request.complete) upstream.destroy(new Error('the client closed the connection before the end of the body'));
  });
  for (const chunk of body.head) upstream.write(chunk);
  request.resume();
}

/** How long a connection whose body was refused keeps being read before it closes. */
const LINGER_MS = 1_000;

/**
 * Closes, once its answer has been sent, the connection of a request whose body is still
 * arriving, without losing the answer: the rest of the body is read and dropped for
 * {@link LINGER_MS} first. node:http would destroy the socket as soon as its answer was written,
 * and a reset while the client is still sending can discard the answer before the client reads
 * it (the "lingering close" of RFC 9112, section 9.6).
 */
export function closeAfterAnswer(request: IncomingMessage, response: ServerResponse): void {
  response.setHeader('connection', 'close');
  response.once('finish', () => {
    const socket = request.socket;
    // node:http has ended our side and set the socket to be destroyed once that is flushed
    // (destroySoon). The listener is that very method, compared here, never called.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    socket.removeListener('finish', socket.destroy);
    request.resume();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    socket.once('close', () => clearTimeout(timer));
  });
}
