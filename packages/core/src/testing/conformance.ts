import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { BaseDeploymentClient, DeploymentConfig } from '../contract/base-deployment-client.js';
import type { PredictionInput } from '../contract/prediction-input.js';
import { PredictionsResponse } from '../contract/predictions-response.js';
import { isMlDeployError, type ErrorCode } from '../errors/index.js';
import type { TargetCapabilities } from '../plugins/target-plugin.js';

/** How to drive a target through the conformance kit. */
export interface ConformanceOptions {
  /** Returns a client for the target under test; called once per case. */
  readonly client: () => BaseDeploymentClient | Promise<BaseDeploymentClient>;
  /** A model URI the target can deploy. */
  readonly modelUri: string;
  /** The model URI to update to; the same model by default. */
  readonly updatedModelUri?: string;
  readonly flavor?: string;
  /** Config passed to create and update. */
  readonly config?: DeploymentConfig;
  /** Inputs the model accepts. */
  readonly predictInput: PredictionInput;
  /**
   * Inputs for the concurrency case, at least two, that the model does not all give the same
   * answer: each is predicted alone, then all of them many times at once, and every concurrent
   * answer must be the one its own input got alone. If every answer alone is the same, the case
   * fails, since then a target that mixes requests up (or answers every input the same) would
   * pass.
   */
  readonly concurrentInputs: readonly PredictionInput[];
  /** Extra checks on the response to `predictInput`: what only the plugin knows is right (values, shape). */
  readonly checkPredictions?: (response: PredictionsResponse) => void;
  /** What the plugin declares; endpoint cases run when `endpoints` is true. */
  readonly capabilities?: TargetCapabilities;
  /** The endpoint config that routes all traffic to `deployment`; required with `capabilities.endpoints`. */
  readonly endpointConfig?: (deployment: string) => DeploymentConfig;
  /** Prefix of the names the kit creates; every case adds a random suffix. */
  readonly namePrefix?: string;
}

/** One conformance check: register `run` with your test framework under `name`. */
export interface ConformanceCase {
  readonly name: string;
  readonly run: () => Promise<void>;
}

/**
 * Asserts that `promise` rejects with an mldeploy error of `code`.
 */
export async function assertRejectsWithCode(promise: Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isMlDeployError(error), `${what}: expected an MlDeployError with code ${code}, got ${String(error)}`);
    assert.equal(error.code, code, `${what}: expected code ${code}, got ${error.code} (${error.message})`);
    return;
  }
  assert.fail(`${what}: expected an error with code ${code}, but it succeeded`);
}

/**
 * The behaviour every target must show, as framework-neutral test cases. A plugin's own test
 * suite registers them:
 *
 * @example
 * ```ts
 * import { conformanceCases } from '@mldeploy/core/testing';
 * for (const c of conformanceCases({ client: () => getDeployClient('my-target'), modelUri, predictInput, concurrentInputs })) {
 *   it(c.name, c.run, 60_000);
 * }
 * ```
 *
 * Each case creates its own uniquely named deployments and deletes them afterwards, so cases
 * are independent of order and may run against a shared target.
 */
export function conformanceCases(options: ConformanceOptions): ConformanceCase[] {
  // A check that cannot fail proves nothing: with fewer than two inputs, a fixed answer passes.
  if (options.concurrentInputs.length < 2) {
    throw new Error('conformanceCases: concurrentInputs needs at least two inputs, with different answers');
  }
  const prefix = options.namePrefix ?? 'conf';
  const uniqueName = (label: string): string => `${prefix}-${label}-${randomBytes(3).toString('hex')}`;
  const createOptions = { flavor: options.flavor, config: options.config };

  async function withDeployment(label: string, body: (client: BaseDeploymentClient, name: string) => Promise<void>): Promise<void> {
    const client = await options.client();
    const name = uniqueName(label);
    await client.createDeployment(name, options.modelUri, createOptions);
    try {
      await body(client, name);
    } finally {
      await client.deleteDeployment(name);
    }
  }

  function assertPredictions(response: unknown): PredictionsResponse {
    assert.ok(response instanceof PredictionsResponse, `predict must return a PredictionsResponse, got ${JSON.stringify(response)}`);
    assert.ok(Object.hasOwn(response.toJSON(), 'predictions'), 'the response document has no predictions field');
    options.checkPredictions?.(response);
    return response;
  }

  const cases: ConformanceCase[] = [
    {
      name: 'create, get, list, update and delete round trip',
      run: async () => {
        const client = await options.client();
        const name = uniqueName('crud');
        const created = await client.createDeployment(name, options.modelUri, createOptions);
        try {
          assert.equal(created.name, name, 'create returns the deployment with its name');
          assert.ok('flavor' in created, 'create returns the deployment with its flavor');
          assert.equal((await client.getDeployment(name)).name, name, 'get returns the deployment');
          assert.ok(
            (await client.listDeployments()).some((d) => d.name === name),
            'list holds the created deployment',
          );
          const updated = await client.updateDeployment(name, { modelUri: options.updatedModelUri ?? options.modelUri, ...createOptions });
          assert.equal(updated.name, name, 'update returns the deployment with its name');
          assert.ok('flavor' in updated, 'update returns the deployment with its flavor');
          assertPredictions(await client.predict(name, options.predictInput));
        } finally {
          await client.deleteDeployment(name);
        }
        await assertRejectsWithCode(client.getDeployment(name), 'RESOURCE_DOES_NOT_EXIST', 'get after delete');
        assert.ok(!(await client.listDeployments()).some((d) => d.name === name), 'list no longer holds a deleted deployment');
      },
    },
    {
      name: 'get, update and predict of a missing deployment give RESOURCE_DOES_NOT_EXIST',
      run: async () => {
        const client = await options.client();
        const name = uniqueName('missing');
        await assertRejectsWithCode(client.getDeployment(name), 'RESOURCE_DOES_NOT_EXIST', 'get of a missing name');
        await assertRejectsWithCode(
          client.updateDeployment(name, { modelUri: options.modelUri }),
          'RESOURCE_DOES_NOT_EXIST',
          'update of a missing name',
        );
        await assertRejectsWithCode(client.predict(name, options.predictInput), 'RESOURCE_DOES_NOT_EXIST', 'predict on a missing name');
      },
    },
    {
      name: 'a second create of a name gives RESOURCE_ALREADY_EXISTS and keeps the first',
      run: () =>
        withDeployment('dup', async (client, name) => {
          await assertRejectsWithCode(
            client.createDeployment(name, options.modelUri, createOptions),
            'RESOURCE_ALREADY_EXISTS',
            'second create',
          );
          assert.equal((await client.getDeployment(name)).name, name, 'the first deployment is still there');
          assertPredictions(await client.predict(name, options.predictInput));
        }),
    },
    {
      name: 'delete is idempotent',
      run: async () => {
        const client = await options.client();
        const name = uniqueName('del');
        await client.deleteDeployment(name);
        await client.createDeployment(name, options.modelUri, createOptions);
        await client.deleteDeployment(name);
        await client.deleteDeployment(name);
        await assertRejectsWithCode(client.getDeployment(name), 'RESOURCE_DOES_NOT_EXIST', 'get after delete');
      },
    },
    {
      name: 'list holds every deployment created',
      run: () =>
        withDeployment('list-a', async (client, first) =>
          withDeploymentOn(client, 'list-b', async (second) => {
            const names = (await client.listDeployments()).map((d) => d.name);
            assert.ok(names.includes(first) && names.includes(second), `list ${JSON.stringify(names)} lacks ${first} or ${second}`);
            for (const deployment of await client.listDeployments())
              assert.equal(typeof deployment.name, 'string', 'every listed deployment has a name');
          }),
        ),
    },
    {
      name: 'predict returns a PredictionsResponse',
      run: () =>
        withDeployment('predict', async (client, name) => {
          const response = assertPredictions(await client.predict(name, options.predictInput));
          assert.deepEqual(JSON.parse(JSON.stringify(response)), response.toJSON(), 'the response serialises to its document');
        }),
    },
    {
      name: 'concurrent predicts get their own answers',
      run: () =>
        withDeployment('concurrent', async (client, name) => {
          const inputs = options.concurrentInputs;
          const expected: string[] = [];
          for (const input of inputs) expected.push(JSON.stringify(await client.predict(name, input)));
          assert.ok(
            new Set(expected).size > 1,
            `all ${inputs.length} concurrentInputs got the same answer predicted alone (${expected[0]}): either the target does not answer each input for itself, or these inputs do not have different answers`,
          );
          const rounds = Math.max(4, Math.ceil(32 / inputs.length));
          const jobs = Array.from({ length: rounds }, () =>
            inputs.map(async (input, i) => ({ i, got: JSON.stringify(await client.predict(name, input)) })),
          ).flat();
          for (const { i, got } of await Promise.all(jobs))
            assert.equal(got, expected[i], `concurrent predict ${i} answered another request's result`);
        }),
    },
  ];

  async function withDeploymentOn(client: BaseDeploymentClient, label: string, body: (name: string) => Promise<void>): Promise<void> {
    const name = uniqueName(label);
    await client.createDeployment(name, options.modelUri, createOptions);
    try {
      await body(name);
    } finally {
      await client.deleteDeployment(name);
    }
  }

  if (options.capabilities?.endpoints === true) {
    const endpointConfig = options.endpointConfig;
    if (endpointConfig === undefined) throw new Error('conformanceCases: capabilities.endpoints needs endpointConfig');
    cases.push(
      {
        name: 'endpoints: create, get, list, update, predict and delete',
        run: () =>
          withDeployment('ep-target', async (client, deployment) => {
            const name = uniqueName('ep');
            const created = await client.createEndpoint(name, endpointConfig(deployment));
            try {
              assert.equal(created.name, name, 'createEndpoint returns the endpoint with its name');
              assert.equal((await client.getEndpoint(name)).name, name, 'getEndpoint returns the endpoint');
              assert.ok(
                (await client.listEndpoints()).some((e) => e.name === name),
                'listEndpoints holds the endpoint',
              );
              await client.updateEndpoint(name, endpointConfig(deployment));
              assertPredictions(await client.predict(undefined, options.predictInput, { endpoint: name }));
              await assertRejectsWithCode(
                client.createEndpoint(name, endpointConfig(deployment)),
                'RESOURCE_ALREADY_EXISTS',
                'second createEndpoint',
              );
            } finally {
              await client.deleteEndpoint(name);
            }
            await client.deleteEndpoint(name);
            await assertRejectsWithCode(client.getEndpoint(name), 'RESOURCE_DOES_NOT_EXIST', 'getEndpoint after delete');
          }),
      },
      {
        name: 'endpoints: a missing endpoint gives RESOURCE_DOES_NOT_EXIST',
        run: async () => {
          const client = await options.client();
          const name = uniqueName('ep-missing');
          await assertRejectsWithCode(client.getEndpoint(name), 'RESOURCE_DOES_NOT_EXIST', 'getEndpoint of a missing name');
          await assertRejectsWithCode(
            client.predict(undefined, options.predictInput, { endpoint: name }),
            'RESOURCE_DOES_NOT_EXIST',
            'predict on a missing endpoint',
          );
        },
      },
    );
  } else {
    cases.push({
      name: 'endpoint methods of a target without endpoints give NOT_IMPLEMENTED',
      run: async () => {
        const client = await options.client();
        await assertRejectsWithCode(client.createEndpoint('x'), 'NOT_IMPLEMENTED', 'createEndpoint');
        await assertRejectsWithCode(client.updateEndpoint('x'), 'NOT_IMPLEMENTED', 'updateEndpoint');
        await assertRejectsWithCode(client.deleteEndpoint('x'), 'NOT_IMPLEMENTED', 'deleteEndpoint');
        await assertRejectsWithCode(client.listEndpoints(), 'NOT_IMPLEMENTED', 'listEndpoints');
        await assertRejectsWithCode(client.getEndpoint('x'), 'NOT_IMPLEMENTED', 'getEndpoint');
      },
    });
  }
  return cases;
}
