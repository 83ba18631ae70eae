/**
 * The closed set of error codes mldeploy uses, with the HTTP status each maps to.
 *
 * The names are MLflow's (`mlflow/protos/databricks.proto`), so an error body from an MLflow
 * scoring server and one from mldeploy read the same. Codes are never renamed or reused: a
 * retired code stays here marked as such, because scripts match on them. `docs/errors.md`
 * documents every entry; a test fails when the two drift.
 */
export const ERROR_CODES = {
  BAD_REQUEST: 400,
  INVALID_PARAMETER_VALUE: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  RESOURCE_CONFLICT: 409,
  REQUEST_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  INVALID_STATE: 500,
  INVALID_PLUGIN: 500,
  PLUGIN_LOAD_FAILED: 500,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
} as const satisfies Record<string, number>;

/** One of mldeploy's stable error codes. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether `value` is one of mldeploy's error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * The HTTP status for an error code: the one place where codes become statuses.
 * Unknown codes (from a newer server, say) are 500, as MLflow does.
 */
export function httpStatusForCode(code: string): number {
  return isErrorCode(code) ? ERROR_CODES[code] : 500;
}

/**
 * The code for an HTTP status when a response carries no code of its own
 * (a proxy's 502, a bare 404 from a server that is not mldeploy's).
 */
export function codeForHttpStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
    case 422:
      return 'BAD_REQUEST';
    case 413:
      return 'REQUEST_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'RESOURCE_DOES_NOT_EXIST';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 409:
      return 'RESOURCE_CONFLICT';
    case 429:
      return 'REQUEST_LIMIT_EXCEEDED';
    case 501:
      return 'NOT_IMPLEMENTED';
    case 502:
    case 503:
      return 'TEMPORARILY_UNAVAILABLE';
    case 504:
      return 'DEADLINE_EXCEEDED';
    default:
      return 'INTERNAL_ERROR';
  }
}

/**
 * MLflow's finer classification of an error (`mlflow/error_classification.py`, MLflow ≥ 3.5):
 * the `error_class` and `sqlstate` fields of its scoring server's error bodies.
 */
export interface MlflowErrorClass {
  readonly error_class: string;
  readonly sqlstate: string;
}

/** MLflow's client-side error class for each code it has one for (`_CLIENT_ERROR_CODE_TO_ERROR_CLASS`). */
const MLFLOW_ERROR_CLASS: Partial<Record<ErrorCode, string>> = {
  BAD_REQUEST: 'INVALID_PARAMETER_VALUE',
  ENDPOINT_NOT_FOUND: 'RESOURCE_NOT_FOUND',
  INTERNAL_ERROR: 'CLIENT_INTERNAL_ERROR',
  INVALID_PARAMETER_VALUE: 'INVALID_PARAMETER_VALUE',
  INVALID_STATE: 'CLIENT_INTERNAL_ERROR',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  RESOURCE_ALREADY_EXISTS: 'RESOURCE_ALREADY_EXISTS',
  RESOURCE_DOES_NOT_EXIST: 'RESOURCE_NOT_FOUND',
  TEMPORARILY_UNAVAILABLE: 'CLIENT_INTERNAL_ERROR',
};

/** The classes whose sqlstate is their own rather than their code's (`_ERROR_CLASS_TO_SQLSTATE`). */
const CLASS_SQLSTATE: Readonly<Record<string, string>> = {
  ATTRIBUTE_NOT_FOUND: 'KAM04',
  MODEL_SERIALIZATION_FAILED: 'KAM03',
  PREDICTION_FUNCTION_FAILED: 'KAM02',
  SCHEMA_ENFORCEMENT_FAILED: 'KAM01',
};

/**
 * The `error_class` and `sqlstate` MLflow's scoring server sends with an error of `code`, or with
 * the more specific `errorClass` (such as `SCHEMA_ENFORCEMENT_FAILED`) when one is given.
 * Undefined for codes MLflow does not classify (its 405, 413, 415 and 504 answers carry none).
 */
export function mlflowErrorClass(code: string, errorClass?: string): MlflowErrorClass | undefined {
  const derived = isErrorCode(code) ? MLFLOW_ERROR_CLASS[code] : undefined;
  const error_class = errorClass ?? derived;
  if (error_class === undefined) return undefined;
  // As MLflow derives it: internal errors are XXM00, the caller's errors KAM00.
  const byCode = derived === 'CLIENT_INTERNAL_ERROR' ? 'XXM00' : 'KAM00';
  return { error_class, sqlstate: CLASS_SQLSTATE[error_class] ?? byCode };
}
