import { describe, expect, it } from 'vitest';
import { MlDeployError, PredictionsResponse, getDeployClient, runLocal, targetHelp, type BaseDeploymentClient } from '@mldeploy/core';
import { assertRejectsWithCode, conformanceCases } from '@mldeploy/core/testing';
import { configWithPlugins } from './support.js';

const config = configWithPlugins({ faketarget: 'faketarget.mjs', minimal: 'minimal.mjs' });
const fake = (uri = 'faketarget'): Promise<BaseDeploymentClient> => getDeployClient(uri, { config });

describe('client API against MLflow’s test plugin (§4.1)', () => {
  it('create returns the deployment with name and flavor; flavor is null when not given', async () => {
    const client = await fake();
    expect(await client.createDeployment('fake_deployment_name', 'fake_model_uri', { flavor: 'fake_flavor', config: {} })).toEqual({
      name: 'fake_deployment_name',
      flavor: 'fake_flavor',
    });
    expect((await client.createDeployment('fake_deployment_name', 'fake_model_uri')).flavor).toBeNull();
  });

  it('update returns the flavor; delete returns nothing', async () => {
    const client = await fake();
    expect((await client.updateDeployment('fake_deployment_name', { modelUri: 'uri', flavor: 'fake_flavor' })).flavor).toBe('fake_flavor');
    expect(await client.deleteDeployment('fake_deployment_name')).toBeUndefined();
  });

  it('list and get return dicts with name', async () => {
    const client = await fake();
    expect((await client.listDeployments())[0]?.name).toBe('fake_deployment_name');
    expect((await client.getDeployment('fake_deployment_name'))['key1']).toBe('val1');
  });

  it('endpoint methods work on a plugin that has them', async () => {
    const client = await fake();
    expect((await client.createEndpoint('fake_endpoint_name')).name).toBe('fake_endpoint_name');
    expect((await client.updateEndpoint('fake_endpoint_name')).name).toBe('fake_endpoint_name');
    expect(await client.deleteEndpoint('fake_endpoint_name')).toBeUndefined();
    expect((await client.listEndpoints())[0]?.name).toBe('fake_endpoint_name');
    expect((await client.getEndpoint('fake_endpoint_name')).name).toBe('fake_endpoint_name');
  });

  it('predict returns a PredictionsResponse; explain returns the plugin’s value', async () => {
    const client = await fake();
    const response = await client.predict('fake_deployment_name', { inputs: [[1]] });
    expect(response).toBeInstanceOf(PredictionsResponse);
    expect(response.predictions).toEqual([1, 2, 3]);
    expect(await client.explain('fake_deployment_name', { inputs: [[1]] })).toBe('1');
  });

  it('errors raised by a plugin propagate unchanged', async () => {
    const client = await getDeployClient('faketarget', {
      config: configWithPlugins({ faketarget: 'faketarget.mjs' }, { raiseError: 'True' }),
    });
    await expect(client.listDeployments()).rejects.toThrow('Error requested');
    await expect(client.createDeployment('n', 'm', { config: { raiseError: 'True' } })).rejects.toThrow('Error requested');
  });

  it('all three URI forms resolve to the plugin, and the client receives the full URI', async () => {
    for (const uri of ['faketarget', 'faketarget:/somesuffix', 'faketarget://somesuffix']) {
      const client = await fake(uri);
      expect(client.target).toBe('faketarget');
      expect(client.targetUri).toBe(uri);
    }
  });

  it('runLocal passes name, model, flavor and an empty config; targetHelp returns the plugin’s text', async () => {
    const lines: string[] = [];
    await runLocal('faketarget', 'fake_deployment_name', 'fake_model_uri', 'fake_flavor', undefined, { config, log: (l) => lines.push(l) });
    expect(lines).toEqual([
      "Deployed locally at the key fake_deployment_name using the model from fake_model_uri. It's flavor is fake_flavor and config is {}",
    ]);
    expect(await targetHelp('faketarget', { config })).toBe('Target help is called');
  });
});

describe('optional methods of a target that lacks them', () => {
  it('throw NOT_IMPLEMENTED naming the target and the method', async () => {
    const client = await getDeployClient('minimal:/x', { config });
    for (const call of [
      () => client.explain('d', { inputs: [] }),
      () => client.createEndpoint('e'),
      () => client.listEndpoints(),
      () => client.getEndpoint('e'),
    ]) {
      const error = (await call().catch((e: unknown) => e)) as MlDeployError;
      expect(error).toBeInstanceOf(MlDeployError);
      expect(error.code).toBe('NOT_IMPLEMENTED');
      expect(error.status).toBe(501);
      expect(error.message).toMatch(/^The "minimal" target does not implement (explain|createEndpoint|listEndpoints|getEndpoint)\.$/);
    }
    expect(() => client.predictStream('d', { inputs: [] })).toThrow(/The "minimal" target does not implement predictStream/);
  });
});

describe('the conformance kit', () => {
  it('fails a target that breaks the contract (it can fail)', async () => {
    // MLflow's fake plugin ignores names: get of a missing deployment succeeds, which the kit must catch.
    const cases = conformanceCases({
      client: () => fake(),
      modelUri: 'm',
      predictInput: { inputs: [[1]] },
      concurrentInputs: [{ inputs: [[1]] }, { inputs: [[2]] }],
    });
    const missing = cases.find((c) => c.name.startsWith('get, update and predict of a missing'));
    await expect(missing!.run()).rejects.toThrow(/expected an error with code RESOURCE_DOES_NOT_EXIST/);
  });

  it('fails a target that answers every input the same, in its concurrency case and only there', async () => {
    const fixedConfig = configWithPlugins({ fixed: 'fixed-answer.mjs' });
    const cases = conformanceCases({
      client: () => getDeployClient('fixed', { config: fixedConfig }),
      modelUri: 'm',
      predictInput: { inputs: [[1]] },
      concurrentInputs: [{ inputs: [[1]] }, { inputs: [[2]] }, { inputs: [[3]] }],
    });
    const failed: string[] = [];
    for (const c of cases) {
      await c.run().catch((error: unknown) => {
        failed.push(`${c.name}: ${(error as Error).message}`);
      });
    }
    expect(failed).toEqual([
      'concurrent predicts get their own answers: all 3 concurrentInputs got the same answer predicted alone ({"predictions":[0]}): either the target does not answer each input for itself, or these inputs do not have different answers',
    ]);
  });

  it('refuses fewer than two concurrent inputs, with which a fixed answer would pass', () => {
    expect(() => conformanceCases({ client: () => fake(), modelUri: 'm', predictInput: [1], concurrentInputs: [[1]] })).toThrow(
      /concurrentInputs needs at least two inputs/,
    );
  });

  it('assertRejectsWithCode tells a wrong code from a right one', async () => {
    const error = new MlDeployError('BAD_REQUEST', 'x');
    await assertRejectsWithCode(Promise.reject(error), 'BAD_REQUEST', 'same code');
    await expect(assertRejectsWithCode(Promise.reject(error), 'RESOURCE_DOES_NOT_EXIST', 'other code')).rejects.toThrow(
      /expected code RESOURCE_DOES_NOT_EXIST, got BAD_REQUEST/,
    );
    await expect(assertRejectsWithCode(Promise.reject(new Error('plain')), 'BAD_REQUEST', 'plain error')).rejects.toThrow(
      /expected an MlDeployError/,
    );
  });
});
