import { parseRetryAfter } from '../async/retry.js';
import { MlDeployError, errorFromBody, parseBodyText } from '../errors/index.js';

/** A request made with {@link httpRequest}. */
export interface HttpRequestOptions {
  readonly method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Milliseconds before the request is abandoned with `DEADLINE_EXCEEDED`. */
  readonly timeoutMs: number;
  /** The target making the call, recorded on errors. */
  readonly target?: string;
  readonly signal?: AbortSignal;
}

/** A successful response: its status, headers and body text. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

function safeUrl(url: string): string {
  // Credentials in a URL are secrets: they must never reach an error message or a log.
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '<invalid URL>';
  }
}

/**
 * Sends one HTTP request and classifies every failure where it happens: a refused or reset
 * connection is `TEMPORARILY_UNAVAILABLE`, a timeout `DEADLINE_EXCEEDED`, and a non-2xx answer
 * is turned back into the typed error its body describes ({@link errorFromBody}).
 *
 * @throws MlDeployError
 */
export async function httpRequest(url: string, options: HttpRequestOptions): Promise<HttpResponse> {
  const shown = safeUrl(url);
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      body: options.body,
      signal,
    });
  } catch (error) {
    throw classifyTransportError(error, shown, options, timeout);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw classifyTransportError(error, shown, options, timeout);
  }
  if (!response.ok) {
    throw errorFromBody(response.status, parseBodyText(text), {
      ...(options.target === undefined ? {} : { target: options.target }),
      url: shown,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    });
  }
  return { status: response.status, headers: response.headers, text };
}

function classifyTransportError(error: unknown, url: string, options: HttpRequestOptions, timeout: AbortSignal): MlDeployError {
  if (timeout.aborted) {
    return new MlDeployError('DEADLINE_EXCEEDED', `Request to ${url} timed out after ${options.timeoutMs} ms`, {
      target: options.target,
      cause: error,
      hint: 'Check that the server is responsive, or allow a longer timeout.',
    });
  }
  if (options.signal?.aborted === true) {
    return new MlDeployError('DEADLINE_EXCEEDED', `Request to ${url} was cancelled`, { target: options.target, cause: error });
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new MlDeployError('TEMPORARILY_UNAVAILABLE', `Could not reach ${url}: ${reason}`, {
    target: options.target,
    cause: error,
    hint: 'Check that the server is running and the address is right.',
  });
}
