import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  MlDeployError,
  errorFromBody,
  errorToBody,
  httpStatusForCode,
  isMlDeployError,
  toMlDeployError,
} from '@mldeploy/core';
import { REPO_ROOT } from '../../../test/support/paths.js';

describe('error codes', () => {
  it('map to MLflow’s HTTP statuses', () => {
    expect(httpStatusForCode('RESOURCE_DOES_NOT_EXIST')).toBe(404);
    expect(httpStatusForCode('RESOURCE_ALREADY_EXISTS')).toBe(400);
    expect(httpStatusForCode('INVALID_PARAMETER_VALUE')).toBe(400);
    expect(httpStatusForCode('NOT_IMPLEMENTED')).toBe(501);
    expect(httpStatusForCode('TEMPORARILY_UNAVAILABLE')).toBe(503);
    expect(httpStatusForCode('DEADLINE_EXCEEDED')).toBe(504);
    expect(httpStatusForCode('METHOD_NOT_ALLOWED')).toBe(405);
    expect(errorFromBody(405, '').code).toBe('METHOD_NOT_ALLOWED');
    expect(httpStatusForCode('SOMETHING_NEW')).toBe(500);
  });

  it('are all documented in docs/errors.md, and the doc lists no other code', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
    const documented = new Map<string, number>();
    for (const match of doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)) documented.set(match[1]!, Number(match[2]));
    expect(Object.fromEntries(documented)).toEqual(ERROR_CODES);
  });
});

describe('MlDeployError', () => {
  it('round-trips through an HTTP error body to the same typed error', () => {
    const original = new MlDeployError('RESOURCE_DOES_NOT_EXIST', 'Deployment "x" does not exist', {
      target: 'remote',
      hint: 'List them.',
      details: { name: 'x' },
    });
    const body = JSON.parse(JSON.stringify(errorToBody(original))) as unknown;
    const back = errorFromBody(original.status, body);
    expect(back).toBeInstanceOf(MlDeployError);
    expect(back.code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(back.message).toBe(original.message);
    expect(back.hint).toBe('List them.');
    expect(back.target).toBe('remote');
    expect(back.details).toMatchObject({ name: 'x', status: 404 });
  });

  it('never serialises its cause or stack', () => {
    const body = errorToBody(new MlDeployError('INTERNAL_ERROR', 'boom', { cause: new Error('secret detail') }));
    expect(JSON.stringify(body)).not.toContain('secret detail');
    expect(JSON.stringify(body)).not.toContain('at ');
  });

  it('reads MLflow scoring-server error bodies, and bodies that are not error documents', () => {
    const mlflow = errorFromBody(400, { error_code: 'BAD_REQUEST', message: 'Invalid input.', stack_trace: 'Traceback…' });
    expect(mlflow.code).toBe('BAD_REQUEST');
    expect(JSON.stringify(mlflow.details)).not.toContain('Traceback');
    expect(errorFromBody(502, '<html>Bad gateway</html>', { url: 'http://x' }).code).toBe('TEMPORARILY_UNAVAILABLE');
    expect(errorFromBody(404, { error: 'model not found' }).code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(errorFromBody(418, { error_code: 'SOMETHING_NEW', message: 'm' }).code).toBe('INTERNAL_ERROR');
  });

  it('is recognised across copies of the library, and classifies foreign errors as INTERNAL_ERROR', () => {
    const foreign = Object.assign(Object.create({ [Symbol.for('mldeploy.MlDeployError')]: true }) as object, { code: 'BAD_REQUEST' });
    expect(isMlDeployError(foreign)).toBe(true);
    const wrapped = toMlDeployError(new TypeError('x is undefined'));
    expect(wrapped.code).toBe('INTERNAL_ERROR');
    expect(wrapped.message).toBe('x is undefined');
    expect(wrapped.cause).toBeInstanceOf(TypeError);
  });
});
