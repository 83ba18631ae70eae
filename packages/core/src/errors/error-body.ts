import { codeForHttpStatus, isErrorCode } from './error-codes.js';
import { MlDeployError } from './mldeploy-error.js';

/**
 * The JSON error body of mldeploy's servers, the same shape as MLflow's:
 * `{"error_code": "…", "message": "…"}` plus optional fields.
 */
export interface ErrorBody {
  readonly error_code: string;
  readonly message: string;
  readonly hint?: string;
  readonly target?: string;
  /** MLflow's finer classification, as its scoring server sends it (see `mlflowErrorClass`). */
  readonly error_class?: string;
  readonly sqlstate?: string;
  readonly [key: string]: unknown;
}

/** Serialises an error for an HTTP response. Stack traces and causes never leave the process. */
export function errorToBody(error: MlDeployError): ErrorBody {
  return {
    ...error.details,
    error_code: error.code,
    message: error.message,
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    ...(error.target === undefined ? {} : { target: error.target }),
  };
}

/** A response body as JSON when it is JSON, else the text itself (servers answer some errors in plain text). */
export function parseBodyText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Turns an HTTP error response back into the typed error the server raised.
 *
 * Bodies that are not mldeploy/MLflow error documents (a proxy's HTML page, an OIP
 * `{"error": …}` body, plain text) still give a typed error, with the code taken from the status.
 */
export function errorFromBody(
  status: number,
  body: unknown,
  context: { target?: string; url?: string; retryAfterMs?: number | undefined } = {},
): MlDeployError {
  // A server's Retry-After travels with the error, for the retry helper.
  const extra = context.retryAfterMs === undefined ? { status } : { status, retry_after_ms: context.retryAfterMs };
  const where = context.url === undefined ? '' : ` from ${context.url}`;
  if (typeof body === 'object' && body !== null) {
    const record = body as Record<string, unknown>;
    const rawCode = record['error_code'];
    const message =
      typeof record['message'] === 'string' ? record['message'] : typeof record['error'] === 'string' ? record['error'] : undefined;
    if (message !== undefined) {
      const { error_code: _code, message: _message, hint, target, stack_trace: _trace, ...details } = record;
      return new MlDeployError(isErrorCode(rawCode) ? rawCode : codeForHttpStatus(status), message, {
        target: typeof target === 'string' ? target : context.target,
        hint: typeof hint === 'string' ? hint : undefined,
        details: { ...details, ...extra },
      });
    }
  }
  const text = typeof body === 'string' && body.trim() !== '' ? `: ${body.trim().slice(0, 500)}` : '';
  return new MlDeployError(codeForHttpStatus(status), `HTTP ${status}${where}${text}`, {
    target: context.target,
    details: extra,
  });
}
