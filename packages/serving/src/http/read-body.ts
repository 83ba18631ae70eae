import type { IncomingMessage } from 'node:http';
import { MlDeployError } from '@mldeploy/core';

/**
 * Reads a request body, refusing more than `limit` bytes with `REQUEST_TOO_LARGE` (413): at once
 * when Content-Length says so, else as soon as the stream passes the limit.
 */
export function readBody(request: IncomingMessage, limit: number, hint?: string): Promise<Buffer> {
  const tooLarge = (): MlDeployError =>
    new MlDeployError('REQUEST_TOO_LARGE', `The request body is larger than this server's limit of ${limit} bytes`, { hint });
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

/**
 * Refuses a request whose method the route does not take, with `METHOD_NOT_ALLOWED` (405).
 * The allowed methods travel in `details.allowed_methods`, which servers send as the `Allow`
 * header.
 */
export function requireMethod(method: string, allowed: readonly string[], where: string): void {
  if (!allowed.includes(method)) {
    throw new MlDeployError('METHOD_NOT_ALLOWED', `Method ${method} is not allowed on ${where}; it takes ${allowed.join(', ')}`, {
      details: { allowed_methods: allowed },
    });
  }
}

/** The `Allow` header value for a {@link requireMethod} error, when the error is one. */
export function allowHeader(error: MlDeployError): string | undefined {
  const allowed = error.details?.['allowed_methods'];
  return Array.isArray(allowed) ? allowed.join(', ') : undefined;
}

/**
 * Decodes one percent-encoded path segment (a deployment or model name). A malformed escape
 * (`%zz`, a lone `%`) is the caller's mistake: `BAD_REQUEST`, not the URIError a bare
 * `decodeURIComponent` throws (which would be a 500).
 */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new MlDeployError('BAD_REQUEST', `The path has a malformed percent-escape: ${JSON.stringify(segment.slice(0, 200))}`);
  }
}
