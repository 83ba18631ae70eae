import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { runCli, type CliResult } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';
import { startMoto, type MotoServer } from '../../target-sagemaker/test/support/moto.js';
import { ROLE } from '../../target-sagemaker/test/support/sagemaker-harness.js';

const IRIS = path.join(FIXTURE_MODELS, 'onnx-iris');
const TARGET = 'sagemaker:/us-east-1';

/**
 * plan and apply on the sagemaker target against moto (the AWS stand-in of the target's own
 * tests), through the CLI: a target whose `get` reports no config, and whose endpoints are
 * SageMaker endpoints listed among its deployments.
 */
let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
});

function specFile(deployments: string, endpoints = ''): string {
  const file = path.join(tempDir('spec-sagemaker'), 'spec.yaml');
  writeFileSync(
    file,
    `apiVersion: mldeploy/v1\ntargets:\n  - target: ${TARGET}\n    deployments:\n${deployments}${endpoints === '' ? '' : `    endpoints:\n${endpoints}`}`,
  );
  return file;
}
const run = (...args: string[]): Promise<CliResult> => runCli(args, { env: moto.env, timeoutMs: 120_000 });
const deployment = (name: string, model: string): string =>
  `      ${name}: { model_uri: ${model}, config: { execution_role_arn: "${ROLE}", instance_type: ml.c5.large } }\n`;

describe('plan and apply on the sagemaker target (moto)', () => {
  const irisV2 = path.join(tempDir('spec-sagemaker-model'), 'iris-v2');
  cpSync(IRIS, irisV2, { recursive: true });

  it('creates deployments and an endpoint; a second apply changes nothing, and the plan says config cannot be compared', async () => {
    const file = specFile(deployment('sm-a', IRIS) + deployment('sm-b', IRIS), '      sm-ab: { traffic: { sm-a: 90, sm-b: 10 } }\n');
    const plan = await run('plan', '-f', file);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('Plan: 3 to create, 0 to update, 0 to delete.\n');
    const apply = await run('apply', '-f', file);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toBe('Applied: 3 created, 0 updated, 0 deleted.\n');
    const endpoint = JSON.parse(
      (await runCli(['get-endpoint', '-t', TARGET, '--endpoint', 'sm-ab', '--json'], { env: moto.env })).stdout,
    ) as unknown;
    expect(endpoint).toMatchObject({ traffic: { 'sm-a': 90, 'sm-b': 10 } });

    const again = await run('plan', '-f', file);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(
      `Target ${TARGET}: no changes\n` +
        '  Not compared, as the target does not report them: deployment config\n' +
        'No changes: the targets match the spec.\n',
    );
    expect((await run('apply', '-f', file)).stdout).toBe('No changes: the targets match the spec.\n');
  });

  it('a new model is an update (its endpoint follows); --prune deletes the endpoint, then the deployment it routed to', async () => {
    const file = specFile(deployment('sm-a', IRIS) + deployment('sm-b', irisV2), '      sm-ab: { traffic: { sm-a: 90, sm-b: 10 } }\n');
    const plan = await run('plan', '-f', file);
    expect(plan.stdout).toContain(`  ~ update deployment sm-b: model_uri ${IRIS} → ${irisV2}\n`);
    const apply = await run('apply', '-f', file);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toBe('Applied: 0 created, 1 updated, 0 deleted.\n');
    expect((await run('plan', '-f', file)).stdout).toContain('No changes: the targets match the spec.\n');

    const onlyA = specFile(deployment('sm-a', IRIS));
    const kept = await run('plan', '-f', onlyA);
    // The endpoint is listed once, as an endpoint, though SageMaker lists it among the deployments too.
    expect(kept.stdout).toContain('  Not in the spec, left alone (--prune deletes them): deployment sm-b, endpoint sm-ab\n');
    const prune = await run('apply', '-f', onlyA, '--prune');
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stdout).toBe('Applied: 0 created, 0 updated, 2 deleted.\n');
    expect(prune.stderr.indexOf('delete endpoint sm-ab: done')).toBeLessThan(prune.stderr.indexOf('delete deployment sm-b: done'));
    const left = JSON.parse((await runCli(['list', '-t', TARGET, '--json'], { env: moto.env })).stdout) as { name: string }[];
    expect(left.map((d) => d.name)).toEqual(['sm-a']);
  });
});

describe('a rollout on a target without metrics for mldeploy (sagemaker, moto): mldeploy steps the weights', () => {
  it('a canary without gates moves the variants’ weights step by step; gates there are refused at plan time', async () => {
    const deployments = deployment('st-a', IRIS) + deployment('st-b', IRIS);
    const first = specFile(deployments, '      st-front: { traffic: { st-a: 100 } }\n');
    expect((await run('apply', '-f', first)).code).toBe(0);
    const canary = specFile(
      deployments,
      '      st-front:\n        traffic: { st-b: 100 }\n        rollout: { strategy: canary, steps: [{ weight: 30, bakeSeconds: 1 }] }\n',
    );
    const plan = await run('plan', '-f', canary);
    expect(plan.stdout).toContain('(by a canary rollout to st-b, stepped by mldeploy)');
    const apply = await run('apply', '-f', canary);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stderr).toContain(`${TARGET}: endpoint st-front: st-b has 30 %, for 1 s (stepped by mldeploy)`);
    expect(apply.stderr).toContain(`${TARGET}: endpoint st-front: st-b has 100 % (stepped by mldeploy)`);
    const endpoint = JSON.parse(
      (await runCli(['get-endpoint', '-t', TARGET, '--endpoint', 'st-front', '--json'], { env: moto.env })).stdout,
    ) as {
      traffic: Record<string, number>;
    };
    expect(endpoint.traffic).toEqual({ 'st-b': 100 });
    const gated = specFile(
      deployments,
      '      st-front:\n        traffic: { st-a: 100 }\n        rollout: { strategy: canary, steps: [{ weight: 30, bakeSeconds: 1 }], gates: { maxErrorRate: 0.01 } }\n',
    );
    const refused = await run('apply', '-f', gated);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('supplies no live metrics to mldeploy');
    expect(endpoint.traffic).toEqual({ 'st-b': 100 });
  });
});
