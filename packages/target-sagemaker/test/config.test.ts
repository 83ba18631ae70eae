import { describe, expect, it } from 'vitest';
import { MlDeployError } from '@mldeploy/core';
import { policyWaitSeconds } from '../src/config/deployment-config.js';
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

describe('the wait of an update under a deployment_config', () => {
  it("is at least the policy's own waits (every traffic shifting step, the termination wait) plus 10 minutes of provisioning", () => {
    const canary = {
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: { Type: 'CANARY', WaitIntervalInSeconds: 600, CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 } },
        TerminationWaitInSeconds: 300,
      },
    };
    expect(policyWaitSeconds(canary, 1)).toBe(600 + 300 + 600);
    const linear = {
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: {
          Type: 'LINEAR',
          WaitIntervalInSeconds: 300,
          LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 20 },
        },
      },
    };
    expect(policyWaitSeconds(linear, 1)).toBe(5 * 300 + 600);
    const rolling = { RollingUpdatePolicy: { MaximumBatchSize: { Type: 'INSTANCE_COUNT', Value: 2 }, WaitIntervalInSeconds: 120 } };
    expect(policyWaitSeconds(rolling, 5)).toBe(3 * 120 + 600);
    expect(policyWaitSeconds({ AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'a' }] } } as never, 1)).toBeUndefined();
    expect(policyWaitSeconds(undefined, 1)).toBeUndefined();
  });
});

describe('tags', () => {
  it('are strings: a number or an object is refused (SageMaker tag values are strings), naming the tag', () => {
    const location = { region: 'us-east-1', assumeRoleArn: undefined };
    expect(parseSageMakerConfig({ tags: '{"team": "search"}' }, location, 'create').tags).toEqual({ team: 'search' });
    const error = refusal(() =>
      parseSageMakerConfig({ tags: '{"team": "search", "cost": 42, "owner": {"name": "x"}}' }, location, 'create'),
    );
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain('tags values must be strings ("cost", "owner" are not)');
  });
});
