import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/mlflow-scoring-server.js';
import { CLI_BIN, FIXTURE_MODELS, REPO_ROOT } from '../../../test/support/paths.js';
import { cleanEnv, runCli } from '../../../test/support/run-cli.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { RBAC_RULES } from '../src/target/rbac.js';

describe('kubernetes target without a cluster', () => {
  it("run-local runs the serving image's command on this machine, on loopback, until interrupted", async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [CLI_BIN, 'run-local', '-t', 'kubernetes', '--name', 'iris', '-m', path.join(FIXTURE_MODELS, 'onnx-iris'), '-C', `port=${port}`],
      {
        cwd: REPO_ROOT,
        env: cleanEnv(),
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(
        'run-local to serve',
        async () => ((await fetch(`http://127.0.0.1:${port}/ping`).catch(() => undefined))?.status === 200 ? true : undefined),
        60_000,
      );
      const answer = await fetch(`http://127.0.0.1:${port}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [[6.7, 3.1, 5.6, 2.4]] }),
      });
      expect(await answer.json()).toMatchObject({ predictions: { label: [2] } });
      expect(stderr).toContain(`Serving iris (${path.join(FIXTURE_MODELS, 'onnx-iris')}) as its pods would, at http://127.0.0.1:${port}`);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('run-local refuses a config key a deployment would refuse, before starting anything', async () => {
    const result = await runCli([
      'run-local',
      '-t',
      'kubernetes',
      '--name',
      'iris',
      '-m',
      path.join(FIXTURE_MODELS, 'onnx-iris'),
      '-C',
      'replica=2',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('INVALID_PARAMETER_VALUE: Invalid config for the kubernetes target: unknown config key(s) "replica"');
  });

  it('help lists the URI forms, both modes, every config key and exactly the RBAC rules the tests run with', async () => {
    const result = await runCli(['help', '-t', 'kubernetes']);
    expect(result.code).toBe(0);
    for (const text of [
      'kubernetes:/<context>/<namespace>',
      'deployment (default)',
      'kserve ',
      'canary_traffic_percent',
      'registry_secret',
      'token_secret',
      'kind: Role',
    ]) {
      expect(result.stdout).toContain(text);
    }
    for (const rule of RBAC_RULES) {
      expect(result.stdout).toContain(`resources: [${rule.resources.join(', ')}]\n      verbs: [${rule.verbs.join(', ')}]`);
    }
  });

  it('is found like any installed plugin package, and a typo gets a suggestion', async () => {
    expect((await runCli(['help'])).stdout).toMatch(/Support is currently installed for deployment to: .*kubernetes/);
    const typo = await runCli(['list', '-t', 'kubernets']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('Did you mean "kubernetes"?');
  });

  it('a kubeconfig that is not there is a clear error naming the variable', async () => {
    const result = await runCli(['list', '-t', 'kubernetes'], { env: { KUBECONFIG: '/nonexistent/kubeconfig', HOME: '/nonexistent' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('INVALID_STATE: KUBECONFIG names no file that exists (/nonexistent/kubeconfig)');
  });
});
