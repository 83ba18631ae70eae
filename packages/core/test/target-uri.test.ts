import { describe, expect, it } from 'vitest';
import { isValidTargetName, parseTargetUri } from '@mldeploy/core';

describe('parseTargetUri (MLflow §2.3)', () => {
  it.each([
    ['sagemaker:/us-east-1/arn:aws:iam::1:role/x', 'sagemaker'],
    ['faketarget://somesuffix', 'faketarget'],
    ['faketarget:/somesuffix', 'faketarget'],
    ['faketarget', 'faketarget'],
    ['http://localhost:5000', 'http'],
    ['HTTPS://example.com', 'https'],
    ['databricks://profile', 'databricks'],
    ['local', 'local'],
    ['local:/srv/mldeploy', 'local'],
    ['localhost:5000', 'localhost'],
    ['my_target:/x', 'my_target:/x'],
  ])('%s names the target %s', (uri, target) => {
    expect(parseTargetUri(uri).target).toBe(target);
    expect(parseTargetUri(uri).uri).toBe(uri);
  });

  it('keeps the suffix for the client to read', () => {
    expect(parseTargetUri('sagemaker:/us-east-1').suffix).toBe('/us-east-1');
  });

  it.each(['', '   ', '/abs/path', '?q'])('rejects %j with MLflow’s message', (uri) => {
    expect(() => parseTargetUri(uri)).toThrow(
      /Not a proper deployment URI: .*Deployment URIs must be of the form 'target' or 'target:\/suffix'/,
    );
  });

  it('accepts as plugin names only those usable in both URI forms', () => {
    expect(isValidTargetName('remote')).toBe(true);
    expect(isValidTargetName('my-target.v2')).toBe(true);
    expect(isValidTargetName('my_target')).toBe(false);
    expect(isValidTargetName('Remote')).toBe(false);
    expect(isValidTargetName('2x')).toBe(false);
  });
});
