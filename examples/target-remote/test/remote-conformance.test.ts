import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDeployClient, resolveConfig, type BaseDeploymentClient } from '@mldeploy/core';
import { conformanceCases } from '@mldeploy/core/testing';
import { startMlflowScoringServer, type MlflowScoringServer } from '../../../test/support/mlflow-scoring-server.js';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';

const expected = JSON.parse(readFileSync(path.join(FIXTURE_MODELS, 'sklearn-iris.expected.json'), 'utf8')) as {
  input: { dataframe_split: { columns: string[]; data: number[][] } };
  predictions: number[];
};

describe('remote target against a real `mlflow models serve`', () => {
  let server: MlflowScoringServer;
  const home = tempDir('remote-conformance');
  const client = (): Promise<BaseDeploymentClient> =>
    getDeployClient(`remote:${home}`, { config: resolveConfig({ env: {}, cwd: process.cwd() }) });

  beforeAll(async () => {
    server = await startMlflowScoringServer(path.join(FIXTURE_MODELS, 'sklearn-iris'));
  });
  afterAll(async () => {
    await server?.stop();
  });

  const rows = expected.input.dataframe_split;
  for (const c of conformanceCases({
    client,
    get modelUri() {
      return server.url;
    },
    predictInput: expected.input,
    // Each row alone, so that every concurrent request has its own answer.
    concurrentInputs: rows.data.map((row) => ({ dataframe_split: { columns: rows.columns, data: [row] } })),
    checkPredictions: (response) => expect(response.predictions).toEqual(expected.predictions),
    capabilities: { endpoints: true },
    endpointConfig: (deployment) => ({ traffic: { [deployment]: 100 } }),
    namePrefix: 'remote',
  })) {
    it(c.name, c.run);
  }
});
