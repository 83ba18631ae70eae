export {
  ERROR_CODES,
  codeForHttpStatus,
  httpStatusForCode,
  isErrorCode,
  mlflowErrorClass,
  type ErrorCode,
  type MlflowErrorClass,
} from './error-codes.js';
export { MlDeployError, isMlDeployError, toMlDeployError, type MlDeployErrorOptions } from './mldeploy-error.js';
export { errorFromBody, errorToBody, parseBodyText, type ErrorBody } from './error-body.js';
