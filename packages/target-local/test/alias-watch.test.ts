import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { registryForTests } from '../../../test/support/mlflow-tracking-server.js';
import { CLI_BIN, REPO_ROOT } from '../../../test/support/paths.js';
import { cleanEnv, runCli } from '../../../test/support/run-cli.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { localHome } from './support.js';

/**
 * `mldeploy watch-alias` against a real MLflow registry (iris v1 and v2 registered by
 * python/register_fixtures.py) and the local target: moving the alias in the registry is all it
 * takes for the new version to be deployed and rolled out.
 */
const registry = registryForTests();
const local = localHome('alias-watch');
afterAll(async () => {
  await local.stop();
});

async function setAlias(alias: string, version: string): Promise<void> {
  const response = await fetch(`${registry.url}/api/2.0/mlflow/registered-models/alias`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'iris', alias, version }),
  });
  expect(response.status).toBe(200);
}

async function traffic(endpoint: string): Promise<Record<string, number> | undefined> {
  const result = await local.cli('get-endpoint', '--endpoint', endpoint, '--json');
  return result.code === 0 ? (JSON.parse(result.stdout) as { traffic: Record<string, number> }).traffic : undefined;
}

describe('watch-alias: a registry alias followed by rollouts', { timeout: 240_000 }, () => {
  it('creates the endpoint on the alias’s version, then rolls it over by itself when the alias moves', async () => {
    const [v1, v2] = registry.made.registered.iris as [string, string];
    await setAlias('live', v1);
    const policy = JSON.stringify({ strategy: 'canary', steps: [{ weight: 50, bakeSeconds: 1 }] });
    const watcher = spawn(
      process.execPath,
      [CLI_BIN, 'watch-alias', '-t', local.target, '--endpoint', 'iris', '-m', 'models:/iris@live', '--interval', '1', '--policy', policy],
      { cwd: REPO_ROOT, env: cleanEnv({ MLFLOW_TRACKING_URI: registry.url }), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    watcher.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => watcher.once('exit', (code) => resolve(code)));
    try {
      await waitFor(
        'the endpoint on version 1',
        async () => ((await traffic('iris'))?.[`iris-v${v1}`] === 100 ? true : undefined),
        120_000,
      );
      expect(stderr).toContain(`Endpoint iris created on iris-v${v1} (models:/iris@live is version ${v1})`);
      await setAlias('live', v2);
      await waitFor(
        'the endpoint on version 2',
        async () => ((await traffic('iris'))?.[`iris-v${v2}`] === 100 ? true : undefined),
        120_000,
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; the watcher said:\n${stderr}`);
      });
      expect(stderr).toContain(`models:/iris@live moved to version ${v2}: rolling iris over to iris-v${v2} (canary)`);
      // The watcher reports once it has seen the rollout end (a moment after the traffic moved).
      const reported = new RegExp(`rolled out iris-v${v2} \\(version ${v2}, rollout ro-[0-9a-f]{10}\\)`);
      await waitFor('the watcher to report the rollout', () => (reported.test(stderr) ? true : undefined), 30_000);
      const deployed = await local.json<{ model_uri: string }>('get', '--name', `iris-v${v2}`);
      expect(deployed.model_uri).toBe(`models:/iris/${v2}`);
    } finally {
      watcher.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    const rollouts = JSON.parse((await runCli(['rollout', 'list', '-t', local.target, '--json'])).stdout) as {
      from: string;
      to: string;
      state: string;
    }[];
    expect(rollouts).toEqual([expect.objectContaining({ from: `iris-v${v1}`, to: `iris-v${v2}`, state: 'succeeded' })]);
  });

  it('--once reports an endpoint already on the version; a URI that is not an alias is refused', async () => {
    const once = await runCli(['watch-alias', '-t', local.target, '--endpoint', 'iris', '-m', 'models:/iris@live', '--once'], {
      env: { MLFLOW_TRACKING_URI: registry.url },
    });
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toMatch(/^iris: version \d+ serves already\n$/);
    const pinned = await runCli(['watch-alias', '-t', local.target, '--endpoint', 'iris', '-m', 'models:/iris/1', '--once']);
    expect(pinned.code).toBe(1);
    expect(pinned.stderr).toContain('An alias watch follows models:/<name>@<alias>, not "models:/iris/1"');
    const interval = await runCli(['watch-alias', '-t', local.target, '--endpoint', 'iris', '-m', 'models:/iris@live', '--interval', '0']);
    expect(interval.code).toBe(2);
    expect(interval.stderr).toContain("Invalid value for '--interval'");
  });
});
