import { afterEach, describe, expect, it } from 'vitest';
import {
  MlDeployError,
  getDeployClient,
  getDeploymentsTarget,
  resetDeploymentsTarget,
  resolveConfig,
  setDeploymentsTarget,
} from '@mldeploy/core';

afterEach(() => resetDeploymentsTarget());

describe('default deployments target (MLflow §1.4, §4.3, §4.4)', () => {
  it('round-trips a target set in code, which wins over the environment', () => {
    setDeploymentsTarget('http://localhost');
    expect(getDeploymentsTarget({ MLFLOW_DEPLOYMENTS_TARGET: 'remote' })).toBe('http://localhost');
    setDeploymentsTarget('databricks');
    expect(getDeploymentsTarget({})).toBe('databricks');
  });

  it('accepts every valid target URI, including those MLflow rejects (deviation)', () => {
    for (const target of ['local', 'sagemaker:/us-east-1', 'localhost']) {
      setDeploymentsTarget(target);
      expect(getDeploymentsTarget({})).toBe(target);
    }
  });

  it('rejects what is not a target URI', () => {
    expect(() => setDeploymentsTarget('/not/a/target')).toThrow(/The target provided is not a valid uri/);
  });

  it('falls back to MLFLOW_DEPLOYMENTS_TARGET, and validates it (deviation)', () => {
    expect(getDeploymentsTarget({ MLFLOW_DEPLOYMENTS_TARGET: 'remote:/tmp/x' })).toBe('remote:/tmp/x');
    expect(() => getDeploymentsTarget({ MLFLOW_DEPLOYMENTS_TARGET: '/bad' })).toThrow(/Not a proper deployment URI/);
  });

  it('without any target, raises an error saying how to set one (MLflow returns None)', async () => {
    expect(() => getDeploymentsTarget({})).toThrow(/No deployments target has been set/);
    const config = resolveConfig({ env: {}, cwd: process.cwd() });
    const error = await getDeployClient(undefined, { config }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlDeployError);
    expect((error as MlDeployError).code).toBe('INVALID_PARAMETER_VALUE');
    expect((error as MlDeployError).hint).toMatch(/MLFLOW_DEPLOYMENTS_TARGET/);
  });

  it('uses the fallback (options.defaultTarget) only when no target is set', () => {
    expect(getDeploymentsTarget({}, 'local')).toBe('local');
    expect(getDeploymentsTarget({ MLFLOW_DEPLOYMENTS_TARGET: 'remote' }, 'local')).toBe('remote');
    setDeploymentsTarget('databricks');
    expect(getDeploymentsTarget({}, 'local')).toBe('databricks');
  });

  it('gives a client for the target in the environment', async () => {
    const config = resolveConfig({ env: { MLFLOW_DEPLOYMENTS_TARGET: 'remote:/tmp/mldeploy-env-target' }, cwd: process.cwd() });
    const client = await getDeployClient(undefined, { config });
    expect(client.target).toBe('remote');
    expect(client.targetUri).toBe('remote:/tmp/mldeploy-env-target');
  });
});
