import { describe, expect, it } from 'vitest';
import { MlDeployError } from '@mldeploy/core';
import { parseSageMakerConfig } from '../src/config/sagemaker-config.js';
import { parseSageMakerUri } from '../src/target/sagemaker-uri.js';

function refusal(run: () => unknown): MlDeployError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MlDeployError);
    return error as MlDeployError;
  }
  throw new Error('expected a refusal');
}

describe('sagemaker target URIs, parsed as MLflow parses them', () => {
  it.each([
    ['sagemaker', { region: undefined, assumeRoleArn: undefined }],
    ['sagemaker:/us-east-1', { region: 'us-east-1', assumeRoleArn: undefined }],
    [
      'sagemaker:/us-east-1/arn:aws:iam::123456789012:role/deployer',
      { region: 'us-east-1', assumeRoleArn: 'arn:aws:iam::123456789012:role/deployer' },
    ],
    [
      'sagemaker:/us-east-1////arn:aws:iam::123456789012:role/deployer',
      { region: 'us-east-1', assumeRoleArn: 'arn:aws:iam::123456789012:role/deployer' },
    ],
  ])('%s', (uri, expected) => {
    expect(parseSageMakerUri(uri)).toEqual(expected);
  });

  it('a role ARN without a region is refused, as MLflow refuses it', () => {
    const error = refusal(() => parseSageMakerUri('sagemaker:/arn:aws:iam::123456789012:role/deployer'));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain('names an IAM role ARN without a region');
  });
});

describe("MLflow's config keys, defaults and parsing", () => {
  const nowhere = { region: undefined, assumeRoleArn: undefined };

  it("has MLflow's defaults, the URI's region and role, and create / replace modes", () => {
    expect(parseSageMakerConfig({}, nowhere, 'create')).toEqual({
      region_name: 'us-west-2',
      assume_role_arn: undefined,
      archive: false,
      instance_type: 'ml.m4.xlarge',
      instance_count: 1,
      synchronous: true,
      timeout_seconds: 1200,
      async_inference_config: {},
      serverless_config: {},
      mode: 'create',
    });
    expect(parseSageMakerConfig({}, { region: 'eu-west-1', assumeRoleArn: 'arn:r' }, 'update')).toMatchObject({
      region_name: 'eu-west-1',
      assume_role_arn: 'arn:r',
      mode: 'replace',
    });
    // The config names them: it wins over the URI, as in MLflow.
    expect(
      parseSageMakerConfig({ region_name: 'ap-south-1' }, { region: 'eu-west-1', assumeRoleArn: undefined }, 'create').region_name,
    ).toBe('ap-south-1');
  });

  it('reads -C strings as MLflow does: whole numbers, booleans, JSON objects', () => {
    expect(
      parseSageMakerConfig(
        {
          instance_count: '3',
          timeout_seconds: '60',
          archive: 'True',
          synchronous: 'false',
          env: '{"LOG_LEVEL": "debug"}',
          tags: '{"team": "ml"}',
          mode: 'add',
        },
        nowhere,
        'update',
      ),
    ).toMatchObject({
      instance_count: 3,
      timeout_seconds: 60,
      archive: true,
      synchronous: false,
      env: { LOG_LEVEL: 'debug' },
      tags: { team: 'ml' },
      mode: 'add',
    });
  });

  it.each([
    [{ instance_count: 'three' }, 'create', 'instance_count must be a whole number of at least 1, got "three"'],
    [{ instance_count: '0' }, 'create', 'instance_count must be a whole number of at least 1'],
    [{ archive: 'yes' }, 'create', 'archive must be True or False, got "yes"'],
    [{ env: '{"a": 1' }, 'create', 'env must be a JSON object such as'],
    [{ vpc_config: '[1]' }, 'create', 'vpc_config must be a JSON object'],
    [{ mode: 'add' }, 'create', 'mode must be create for a create, got "add"'],
    [{ mode: 'create' }, 'update', 'mode must be replace or add for an update, got "create"'],
    [{ instance_typ: 'ml.m5.large' }, 'create', 'unknown key(s) "instance_typ"'],
  ] as const)('%j on %s is refused: %s (where MLflow ignores it or raises a bare error)', (config, operation, why) => {
    const error = refusal(() => parseSageMakerConfig(config, nowhere, operation));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain(why);
    expect(error.hint).toContain('Known keys: region_name');
  });
});
