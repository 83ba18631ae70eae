import { cpSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';
import { processesOfHome } from '../../../test/support/processes.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { pluginsEnv } from '../../core/test/support.js';
import { IRIS, localHome, predictVia } from '../../target-local/test/support.js';

/** Writes a spec file into a folder of its own; returns its path. */
function specFile(text: string, name = 'spec.yaml'): string {
  const file = path.join(tempDir('spec'), name);
  writeFileSync(file, `apiVersion: mldeploy/v1\n${text}`);
  return file;
}

const run = (args: string[], env: Record<string, string> = {}): Promise<CliResult> => runCli(args, { timeoutMs: 180_000, env });

interface PlanJson {
  targets: { target: string; changes: { action: string; kind: string; name: string }[]; not_compared: string[]; unmanaged: string[] }[];
  summary: { create: number; update: number; delete: number };
}

describe('plan and apply on the real local target', () => {
  const local = localHome('spec');
  // A second model: the same files in another folder, so that its model URI differs.
  const irisV2 = path.join(tempDir('spec-model'), 'iris-v2');
  cpSync(IRIS, irisV2, { recursive: true });
  afterAll(async () => {
    await local.stop();
  });

  const spec = (deployments: string, endpoints = ''): string =>
    `targets:\n  - target: ${local.target}\n    deployments:\n${deployments}${endpoints === '' ? '' : `    endpoints:\n${endpoints}`}`;
  const first = spec(
    `      blue: { model_uri: ${IRIS}, flavor: onnx }\n      green: { model_uri: ${IRIS}, config: { timeout: 30 } }\n      old: { model_uri: ${IRIS} }\n`,
    '      split: { traffic: { blue: 90, green: 10 } }\n',
  );

  it('plan shows the creates and changes nothing; apply makes them; a second apply and plan change nothing', async () => {
    const file = specFile(first);
    const plan = await run(['plan', '-f', file]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toBe(
      `Target ${local.target}:\n` +
        `  + create deployment blue: model_uri ${IRIS}, flavor onnx\n` +
        `  + create deployment green: model_uri ${IRIS}, config timeout=30\n` +
        `  + create deployment old: model_uri ${IRIS}\n` +
        '  + create endpoint split: traffic blue 90, green 10\n' +
        'Plan: 4 to create, 0 to update, 0 to delete.\n',
    );
    expect(await local.json<unknown[]>('list')).toEqual([]);

    const apply = await run(['apply', '-f', file]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toBe('Applied: 4 created, 0 updated, 0 deleted.\n');
    expect(apply.stderr).toContain(`${local.target}: create endpoint split: traffic blue 90, green 10: done`);
    expect((await local.json<{ name: string }[]>('list')).map((d) => d.name).sort()).toEqual(['blue', 'green', 'old']);
    expect(await local.json<{ traffic: unknown }>('get-endpoint', '--endpoint', 'split')).toMatchObject({
      traffic: { blue: 90, green: 10 },
    });
    expect((await predictVia(`${local.gateway()}/endpoints/split/invocations`)).status).toBe(200);

    const again = await run(['apply', '-f', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('No changes: the targets match the spec.\n');
    const planned = JSON.parse((await run(['plan', '-f', file, '--json'])).stdout) as PlanJson;
    expect(planned.summary).toEqual({ create: 0, update: 0, delete: 0 });
    expect(planned.targets[0]!.not_compared).toEqual([]);
  });

  it('updates name their fields and traffic moves; --prune deletes what the file no longer holds, endpoints first', async () => {
    const changed = spec(
      `      blue: { model_uri: ${IRIS}, flavor: onnx }\n      green: { model_uri: ${irisV2}, config: { timeout: 30, replicas: 2 } }\n`,
      '      split: { traffic: { blue: 50, green: 50 }, config: { sticky_header: x-user } }\n',
    );
    const file = specFile(changed);
    const plan = await run(['plan', '-f', file]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toBe(
      `Target ${local.target}:\n` +
        `  ~ update deployment green: model_uri ${IRIS} → ${irisV2}, config.replicas 1 → 2\n` +
        '  ~ update endpoint split: traffic blue 90→50, green 10→50, sticky_header null → x-user\n' +
        '  Not in the spec, left alone (--prune deletes them): deployment old\n' +
        'Plan: 0 to create, 2 to update, 0 to delete.\n',
    );
    const pruned = await run(['plan', '-f', file, '--prune', '--json']);
    expect((JSON.parse(pruned.stdout) as PlanJson).targets[0]!.changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual([
      'update deployment green',
      'update endpoint split',
      'delete deployment old',
    ]);

    const apply = await run(['apply', '-f', file, '--prune']);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toBe('Applied: 0 created, 2 updated, 1 deleted.\n');
    expect(await local.json<unknown>('get', '--name', 'green')).toMatchObject({ model_uri: irisV2, revision: 2, config: { replicas: 2 } });
    expect(await local.json<unknown>('get-endpoint', '--endpoint', 'split')).toMatchObject({
      traffic: { blue: 50, green: 50 },
      sticky_header: 'x-user',
    });
    expect((await local.json<{ name: string }[]>('list')).map((d) => d.name).sort()).toEqual(['blue', 'green']);
    expect((await run(['apply', '-f', file, '--prune'])).stdout).toBe('No changes: the targets match the spec.\n');

    // The file without the endpoint: --prune deletes it before the deployment it routes to.
    const noEndpoint = specFile(spec(`      blue: { model_uri: ${IRIS}, flavor: onnx }\n`));
    const prune = await run(['apply', '-f', noEndpoint, '--prune']);
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stderr.indexOf('delete endpoint split: done')).toBeLessThan(prune.stderr.indexOf('delete deployment green: done'));
    expect(await local.json<unknown[]>('list-endpoints')).toEqual([]);
    expect((await local.json<{ name: string }[]>('list')).map((d) => d.name)).toEqual(['blue']);
  });

  it('a traffic move with a rollout policy is carried out by the local target’s rollout engine, its decisions printed', async () => {
    const before = spec(
      `      stable: { model_uri: ${IRIS} }\n      candidate: { model_uri: ${irisV2} }\n`,
      '      front: { traffic: { stable: 100 } }\n',
    );
    expect((await run(['apply', '-f', specFile(before)])).code).toBe(0);
    const after = spec(
      `      stable: { model_uri: ${IRIS} }\n      candidate: { model_uri: ${irisV2} }\n`,
      '      front:\n        traffic: { candidate: 100 }\n        rollout: { strategy: canary, steps: [{ weight: 50, bakeSeconds: 1 }] }\n',
    );
    const apply = await run(['apply', '-f', specFile(after)]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stderr).toMatch(/started rollout ro-[0-9a-f]{10} of endpoint front to candidate \(canary\)/);
    expect(apply.stderr).toMatch(/rollout ro-[0-9a-f]{10} is succeeded/);
    expect(await local.json<{ traffic: unknown }>('get-endpoint', '--endpoint', 'front')).toMatchObject({ traffic: { candidate: 100 } });
    const rollouts = JSON.parse((await run(['rollout', 'list', '-t', local.target, '--endpoint', 'front', '--json'])).stdout) as {
      state: string;
    }[];
    expect(rollouts.map((r) => r.state)).toEqual(['succeeded']);
    const again = await run(['apply', '-f', specFile(after)]);
    expect(again.stdout).toBe('No changes: the targets match the spec.\n');
    // The next tests start from what the earlier ones left.
    for (const args of [
      ['delete-endpoint', '--endpoint', 'front'],
      ['delete', '--name', 'stable'],
      ['delete', '--name', 'candidate'],
    ]) {
      expect((await local.cli(...args)).code).toBe(0);
    }
  });

  it('a failure on the second target stops the apply there, saying what was done and what was not (exit 1)', async () => {
    const second = localHome('spec-second');
    try {
      const file = specFile(
        `targets:\n  - target: ${local.target}\n    deployments:\n      blue: { model_uri: ${IRIS}, flavor: onnx }\n      extra: { model_uri: ${IRIS} }\n` +
          `  - target: ${second.target}\n    deployments:\n      refused: { model_uri: ${IRIS}, config: { replicas: 99 } }\n      later: { model_uri: ${IRIS} }\n`,
      );
      const apply = await run(['apply', '-f', file]);
      expect(apply.code).toBe(1);
      expect(apply.stderr).toContain(
        `error: INVALID_PARAMETER_VALUE: Apply stopped at ${second.target}, on "create deployment refused: model_uri ${IRIS}, config replicas=99": ` +
          `Invalid config for the local target: replicas must be a whole number from 1 to 32, got 99. ` +
          `Done: ${local.target}: create deployment extra: model_uri ${IRIS}. ` +
          `Not done: ${second.target}: create deployment refused: model_uri ${IRIS}, config replicas=99; ${second.target}: create deployment later: model_uri ${IRIS}.`,
      );
      expect((await local.json<{ name: string }[]>('list')).map((d) => d.name).sort()).toEqual(['blue', 'extra']);
      expect(await second.json<unknown[]>('list')).toEqual([]);
    } finally {
      await second.stop();
    }
  });

  it('what a target cannot do, or a target not installed, is refused before anything changes anywhere', async () => {
    const untouched = tempDir('spec-untouched');
    const file = specFile(
      `targets:\n  - target: local:${untouched}\n    deployments: { a: { model_uri: ${IRIS} } }\n` +
        '  - target: minimal:/x\n    deployments: { b: { model_uri: m } }\n    endpoints: { e: { traffic: { b: 100 } } }\n' +
        '  - target: nosuchtarget\n',
    );
    const plan = await run(['apply', '-f', file], { MLDEPLOY_PLUGINS: pluginsEnv({ minimal: 'minimal.mjs' }) });
    expect(plan.code).toBe(1);
    expect(plan.stderr).toMatch(
      /^error: NOT_IMPLEMENTED: The spec cannot be applied, and nothing was changed: minimal:\/x: the spec declares endpoints \(e\), but this target has none \(its plugin lacks the 'endpoints' capability\); nosuchtarget: No plugin found for managing model deployments to "nosuchtarget"/,
    );
    // Not even the local target's control plane was started.
    expect(readdirSync(untouched)).toEqual([]);
  });

  it('an invalid spec exits 2 with every problem and its line, and contacts nothing', async () => {
    const untouched = tempDir('spec-invalid');
    const file = specFile(
      `targets:\n  - target: local:${untouched}\n    deployments:\n      a: { model_uri: 3, replicas: 2 }\n`,
      'bad.yaml',
    );
    const plan = await run(['plan', '-f', file]);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toBe(
      `error: Invalid spec ${file} (2 problems):\n` +
        `  ${file}:5:23: targets[0].deployments.a.model_uri: model_uri is a string: a path (relative to the spec file), runs:/…, models:/name@alias, s3://…\n` +
        `  ${file}:5:26: targets[0].deployments.a.replicas: unknown key (a deployment has the keys model_uri, flavor, config, rollout)\n`,
    );
    const json = await run(['apply', '-f', file, '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr)).toMatchObject({
      error_code: 'INVALID_PARAMETER_VALUE',
      problems: [
        { line: 5, column: 23 },
        { line: 5, column: 26 },
      ],
    });
    expect((await run(['plan', '-f', 'no-such-spec.yaml'])).code).toBe(2);
    expect(readdirSync(untouched)).toEqual([]);
  });
});

describe('the worked example of docs/specs.md (examples/specs/iris.yaml)', () => {
  // The example names the default `local` target: its home is $HOME/.mldeploy.
  const home = tempDir('spec-example-home');
  const env = { HOME: home };
  afterAll(async () => {
    const localHomeDir = path.join(home, '.mldeploy');
    await runCli(['server', 'stop', '--home', localHomeDir], { timeoutMs: 90_000 });
    await waitFor(
      `every process of ${localHomeDir} to exit`,
      () => (processesOfHome(localHomeDir).length === 0 ? true : undefined),
      15_000,
    );
  });

  it('plans, applies, and a second apply changes nothing', async () => {
    const plan = await run(['plan', '-f', 'examples/specs/iris.yaml'], env);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('Plan: 3 to create, 0 to update, 0 to delete.\n');
    const apply = await run(['apply', '-f', 'examples/specs/iris.yaml'], env);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toBe('Applied: 3 created, 0 updated, 0 deleted.\n');
    expect((await run(['apply', '-f', 'examples/specs/iris.yaml'], env)).stdout).toBe('No changes: the targets match the spec.\n');
    const endpoint = await run(['get-endpoint', '--endpoint', 'iris', '--json'], env);
    expect(JSON.parse(endpoint.stdout)).toMatchObject({ traffic: { 'iris-blue': 90, 'iris-green': 10 } });
  });
});
