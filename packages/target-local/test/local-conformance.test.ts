import { afterAll, describe, it } from 'vitest';
import { resolveConfig } from '@mldeploy/core';
import { conformanceCases } from '@mldeploy/core/testing';
import { IRIS, IRIS_INPUT, localClient as getDeployClient, localHome } from './support.js';

describe('the local target passes the conformance kit', () => {
  const local = localHome('conformance');
  afterAll(async () => {
    await local.stop();
  });
  const config = resolveConfig({ env: {}, cwd: process.cwd() });
  for (const c of conformanceCases({
    client: () => getDeployClient(local.target, { config }),
    modelUri: IRIS,
    predictInput: IRIS_INPUT,
    concurrentInputs: [{ inputs: [[5.1, 3.5, 1.4, 0.2]] }, { inputs: [[7.0, 3.2, 4.7, 1.4]] }, { inputs: [[6.3, 3.3, 6.0, 2.5]] }],
    capabilities: { endpoints: true },
    endpointConfig: (deployment) => ({ traffic: { [deployment]: 100 } }),
    namePrefix: 'local',
  })) {
    it(c.name, c.run, 120_000);
  }
});
