import { httpStatusForCode, type ErrorCode } from './error-codes.js';

const BRAND = Symbol.for('mldeploy.MlDeployError');

/** What an {@link MlDeployError} carries besides its code and message. */
export interface MlDeployErrorOptions {
  /** The target (plugin name) the error came from, when there is one. */
  readonly target?: string | undefined;
  /** What the user can do about it, one sentence. Shown by the CLI after the message. */
  readonly hint?: string | undefined;
  /** The underlying error. */
  readonly cause?: unknown;
  /** Extra machine-readable fields; they travel in the HTTP error body. */
  readonly details?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The one error type of mldeploy: every failure that reaches a user is an `MlDeployError` with a
 * stable {@link ErrorCode}.
 *
 * Errors are classified where they are caught (a plugin turns its platform's "already exists"
 * into `RESOURCE_ALREADY_EXISTS` on the spot), mapped to an HTTP status in one place
 * ({@link httpStatusForCode}), and turned back into the same typed error by HTTP clients
 * ({@link errorFromBody}).
 *
 * @example
 * ```ts
 * throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', 'Deployment "iris" does not exist', {
 *   target: 'remote',
 *   hint: "List deployments with 'mldeploy list -t remote'.",
 * });
 * ```
 */
export class MlDeployError extends Error {
  /** The stable error code. */
  readonly code: ErrorCode;
  /** The target the error came from, if any. */
  readonly target: string | undefined;
  /** What the user can do about it. */
  readonly hint: string | undefined;
  /** Extra machine-readable fields. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  /**
   * @param code - one of the stable codes of `docs/errors.md`; it also sets {@link status}.
   * @param message - one sentence naming the thing that failed.
   * @param options - `target` (the plugin's target name), `hint` (what the user can do),
   * `details` (machine-readable fields for the HTTP error body) and `cause`.
   */
  constructor(code: ErrorCode, message: string, options: MlDeployErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MlDeployError';
    this.code = code;
    this.target = options.target;
    this.hint = options.hint;
    this.details = options.details;
  }

  /** The HTTP status this error is served with. */
  get status(): number {
    return httpStatusForCode(this.code);
  }

  /**
   * Matches errors from any copy of mldeploy (a plugin may bundle its own), which `instanceof`
   * would not.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

Object.defineProperty(MlDeployError.prototype, BRAND, { value: true });

/** Whether `value` is an {@link MlDeployError}, from this copy of mldeploy or another. */
export function isMlDeployError(value: unknown): value is MlDeployError {
  return value instanceof MlDeployError;
}

/**
 * Classifies an unknown thrown value: an `MlDeployError` passes through, anything else becomes
 * `INTERNAL_ERROR` with the original as its cause and its message kept.
 */
export function toMlDeployError(value: unknown, options: MlDeployErrorOptions = {}): MlDeployError {
  if (isMlDeployError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new MlDeployError('INTERNAL_ERROR', message, { ...options, cause: value });
}
