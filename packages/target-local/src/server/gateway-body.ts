import type { ClientRequest, IncomingMessage } from 'node:http';
import { MlDeployError } from '@mldeploy/core';

/**
 * Request bodies up to this size are read whole before they are forwarded, so that they can be
 * sent again: to another replica when the first one's connection breaks, and to an endpoint's
 * shadow. Larger ones go to the worker as they arrive and cannot be sent again: keeping their
 * bytes for a second try would be the very buffering that streaming avoids. 64 KiB holds a batch
 * of about a thousand rows of a small tabular model, and at the connection cap (4096) bounds
 * what the gateway holds to 256 MiB.
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
export function bodyTooLarge(deployment: string, limit: number): MlDeployError {
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
 * Sends the rest of a body {@link readBody} did not keep to `upstream` as it arrives, at the pace the worker
 * reads it, counting bytes: past `limit` the upstream request is destroyed with
 * `REQUEST_TOO_LARGE` and the client's stops being read. `sent` is called once all of it has been
 * handed over; a client that goes away before that destroys the upstream request.
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
  upstream.on('drain', () => request.resume());
  request.on('data', onData).once('end', () => {
    upstream.end();
    sent();
  });
  request.once('close', () => {
    if (!request.complete) upstream.destroy(new Error('the client closed the connection before the end of the body'));
  });
  for (const chunk of body.head) upstream.write(chunk);
  request.resume();
}
