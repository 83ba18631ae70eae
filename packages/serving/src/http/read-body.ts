import type { IncomingMessage } from 'node:http';
import { MlDeployError } from '@mldeploy/core';

/**
 * Reads a request body, refusing more than `limit` bytes with `REQUEST_TOO_LARGE` (413): at once
 * when Content-Length says so, else as soon as the stream passes the limit.
 */
export function readBody(request: IncomingMessage, limit: number, hint?: string): Promise<Buffer> {
  const tooLarge = (): MlDeployError => new MlDeployError('REQUEST_TOO_LARGE', `The request body is larger than this server's limit of ${limit} bytes`, { hint });
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}
