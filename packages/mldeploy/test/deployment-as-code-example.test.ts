import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../../../test/support/run-cli.js';
import { processesOfHome } from '../../../test/support/processes.js';
import { tempDir } from '../../../test/support/temp.js';
import { waitFor } from '../../../test/support/wait-for.js';

/**
 * The worked example of docs/deployment-as-code.md, run as its commands say (the default `local`
 * target, whose home is $HOME/.mldeploy), with live traffic during the canary as the page's
 * send-traffic.sh sends it.
 */
describe('docs/deployment-as-code.md: the worked example', { timeout: 240_000 }, () => {
  const home = tempDir('dac-home');
  const env = { HOME: home };
  const run = (...args: string[]): Promise<CliResult> => runCli(args, { env, timeoutMs: 180_000 });
  const localHomeDir = path.join(home, '.mldeploy');
  afterAll(async () => {
    await runCli(['server', 'stop', '--home', localHomeDir], { timeoutMs: 90_000 });
    await waitFor(
      `every process of ${localHomeDir} to exit`,
      () => (processesOfHome(localHomeDir).length === 0 ? true : undefined),
      15_000,
    );
  });

  it('release 1, then release 2 by a canary on live traffic; the audit log has it all', async () => {
    const v1 = await run('apply', '-f', 'examples/deployment-as-code/v1.yaml');
    expect(v1.code, v1.stderr).toBe(0);
    const predicted = await run('predict', '--endpoint', 'iris', '-I', 'fixtures/models/onnx-iris/serving_input_example.json');
    expect(predicted.code, predicted.stderr).toBe(0);
    const plan = await run('plan', '-f', 'examples/deployment-as-code/v2.yaml');
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('+ create deployment iris-v2');
    expect(plan.stdout).toContain('~ update endpoint iris: traffic iris-v1 100→0, iris-v2 0→100 (by a canary rollout to iris-v2)');
    // What send-traffic.sh does: requests to the endpoint until stopped.
    const url = (JSON.parse(readFileSync(path.join(localHomeDir, 'server.json'), 'utf8')) as { url: string }).url;
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        await fetch(`${url}/endpoints/iris/invocations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"inputs": [[5.1, 3.5, 1.4, 0.2]]}',
        }).then(
          (r) => r.arrayBuffer(),
          () => undefined,
        );
      }
    })();
    let v2: CliResult;
    try {
      v2 = await run('apply', '-f', 'examples/deployment-as-code/v2.yaml');
    } finally {
      stop = true;
      await traffic;
    }
    expect(v2.code, v2.stderr).toBe(0);
    expect(v2.stderr).toMatch(/promote: gates met at 20 % of traffic/);
    expect(v2.stderr).toMatch(/promote: gates met at 50 % of traffic/);
    expect((JSON.parse((await run('get-endpoint', '--endpoint', 'iris', '--json')).stdout) as { traffic: unknown }).traffic).toEqual({
      'iris-v2': 100,
    });
    expect((await run('apply', '-f', 'examples/deployment-as-code/v2.yaml')).stdout).toBe('No changes: the targets match the spec.\n');
    const rollouts = JSON.parse((await run('rollout', 'list', '--json')).stdout) as { state: string }[];
    expect(rollouts.map((r) => r.state)).toEqual(['succeeded']);
    const audit = JSON.parse((await run('audit', 'list', '--subject', 'iris', '--json')).stdout) as { action: string }[];
    expect(audit.map((e) => e.action)).toEqual(
      expect.arrayContaining(['create-endpoint', 'rollout-start', 'rollout-step', 'rollout-succeeded']),
    );
    expect((await run('audit', 'verify')).code).toBe(0);
  });
});
