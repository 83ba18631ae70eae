import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/mlflow-scoring-server.js';
import { CLI_BIN, FIXTURE_MODELS, REPO_ROOT } from '../../../test/support/paths.js';
import { cleanEnv, runCli } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { IAM_ACTIONS } from '../src/target/iam-policy.js';

const IRIS = path.join(FIXTURE_MODELS, 'onnx-iris');

describe('sagemaker target without AWS', () => {
  it('run-local serves the model on loopback as the SageMaker container would, until interrupted', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI_BIN, 'run-local', '-t', 'sagemaker', '--name', 'iris', '-m', IRIS, '-C', `port=${port}`], {
      cwd: REPO_ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
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
      expect(stderr).toContain(`Serving iris (${IRIS}) as the SageMaker container would, at http://127.0.0.1:${port}/invocations`);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('run-local refuses config it cannot use before starting anything', async () => {
    const result = await runCli(['run-local', '-t', 'sagemaker', '--name', 'iris', '-m', IRIS, '-C', 'image=x', '-C', 'port=0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('port must be a whole number from 1 to 65535, got "0"; run-local takes only "port" (got "image")');
  });

  it('help lists the URI forms, every MLflow config key, the additions and an IAM policy with every action the target calls', async () => {
    const result = await runCli(['help', '-t', 'sagemaker']);
    expect(result.code).toBe(0);
    for (const key of [
      'sagemaker:/<region>/<assume-role-arn>',
      'region_name',
      'execution_role_arn',
      'assume_role_arn',
      'image_url',
      'bucket',
      'instance_type',
      'variant_name',
      'serverless_config',
      'async_inference_config',
      'vpc_config, data_capture_config, env, tags',
      'synchronous',
      'timeout_seconds',
      'archive',
      'mode',
      'deployment_config',
      'traffic={"a": 90, "b": 10}',
    ]) {
      expect(result.stdout).toContain(key);
    }
    const policy = JSON.parse(result.stdout.slice(result.stdout.indexOf('{', result.stdout.indexOf('IAM:')))) as {
      Statement: { Action: string[] }[];
    };
    const listed = new Set(policy.Statement.flatMap((s) => s.Action));
    // Every action the code names where it calls AWS is in the policy users are told to grant.
    const source = path.join(REPO_ROOT, 'packages', 'target-sagemaker', 'src');
    const called = new Set<string>();
    for (const dir of readdirSync(source, { recursive: true, withFileTypes: true })) {
      if (!dir.isFile() || !dir.name.endsWith('.ts') || dir.name === 'iam-policy.ts') continue;
      for (const match of readFileSync(path.join(dir.parentPath, dir.name), 'utf8').matchAll(/'((?:sagemaker|s3|sts|iam):[A-Za-z]+)'/g)) {
        called.add(match[1]!);
      }
    }
    expect(called.size).toBeGreaterThan(15);
    expect([...called].filter((action) => !listed.has(action))).toEqual([]);
    expect(
      Object.values(IAM_ACTIONS)
        .flat()
        .every((action) => listed.has(action)),
    ).toBe(true);
  });

  it('without AWS credentials, list is UNAUTHENTICATED saying where credentials come from (exit 1)', async () => {
    const nowhere = tempDir('no-aws');
    const result = await runCli(['list', '-t', 'sagemaker:/us-east-1'], {
      env: {
        HOME: nowhere,
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_CONFIG_FILE: path.join(nowhere, 'config'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(nowhere, 'credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('UNAUTHENTICATED: No AWS credentials for sagemaker:ListEndpoints in us-east-1');
  });

  it('is found like any installed plugin package', async () => {
    expect((await runCli(['help'])).stdout).toMatch(/Support is currently installed for deployment to: .*sagemaker/);
  });
});
