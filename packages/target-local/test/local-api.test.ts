import { afterAll, describe, expect, it } from 'vitest';
import { MlDeployError, PredictionsResponse, resolveConfig, type BaseDeploymentClient } from '@mldeploy/core';
import { IRIS, IRIS_INPUT, localClient as getDeployClient, localHome } from './support.js';

describe('the local target through the library API', () => {
  const local = localHome('api');
  afterAll(async () => {
    await local.stop();
  });
  const client = (): Promise<BaseDeploymentClient> =>
    getDeployClient(local.target, { config: resolveConfig({ env: {}, cwd: process.cwd() }) });

  it('revisions, rollback and logs', async () => {
    const c = await client();
    const created = await c.createDeployment('api', IRIS, { config: { replicas: 1 } });
    expect(created).toMatchObject({ name: 'api', flavor: 'onnx', revision: 1, state: 'ready' });
    expect(await c.updateDeployment('api', { config: { timeout: 30 } })).toMatchObject({ revision: 2, config: { timeout: 30 } });
    expect((await c.listRevisions('api')).map((r) => r['reason'])).toEqual(['create', 'update']);
    expect(await c.rollbackDeployment('api')).toMatchObject({ revision: 3, config: { timeout: 60 } });
    expect((await c.getLogs('api', 50)).some((e) => e['event'] === 'ready')).toBe(true);
    const response = await c.predict('api', IRIS_INPUT);
    expect(response).toBeInstanceOf(PredictionsResponse);
    expect(response.asColumns()['label']).toEqual([0]);
  });

  it('errors come back as the same typed errors', async () => {
    const c = await client();
    const error = (await c.rollbackDeployment('missing').catch((e: unknown) => e)) as MlDeployError;
    expect(error).toBeInstanceOf(MlDeployError);
    expect(error).toMatchObject({
      code: 'RESOURCE_DOES_NOT_EXIST',
      target: 'local',
      hint: expect.stringContaining('mldeploy list') as string,
    });
    const invalid = (await c.createEndpoint('e', { traffic: { api: 99 } }).catch((e: unknown) => e)) as MlDeployError;
    expect(invalid.code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('a target URI whose home is not absolute is refused before anything starts', async () => {
    const error = (await getDeployClient('local:relative/home').catch((e: unknown) => e)) as MlDeployError;
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toMatch(/Invalid local target URI "local:relative\/home": the suffix must be an absolute folder/);
  });
});
