import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nonLoopbackIPv4 } from '../../../test/support/network.js';
import { FIXTURE_MODELS, REPO_ROOT } from '../../../test/support/paths.js';
import { ENTRYPOINT, runEntrypoint, startSageMakerContainerLocally } from './support/container.js';

/** A Dockerfile's instructions: continuation lines joined, comments and blank lines left out. */
function instructions(file: string): string[] {
  return readFileSync(file, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
}

function version(packageDir: string): string {
  return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'packages', packageDir, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The SageMaker serving image cannot be built or run on this machine (no container runtime, no
 * registry but npm's): its Dockerfile is checked by reading it, and its entry script, the part
 * that keeps SageMaker's contract, is run here as SageMaker would run the image, on a real model.
 */
describe('the SageMaker serving image (Dockerfile, read, not built)', () => {
  const lines = instructions(path.join(REPO_ROOT, 'packages', 'target-sagemaker', 'Dockerfile'));
  const of = (keyword: string): string[] =>
    lines.filter((line) => line.startsWith(`${keyword} `)).map((line) => line.slice(keyword.length + 1).trim());

  it("is built on the kubernetes target's serving image, at that package's version", () => {
    const kubernetesDockerfile = readFileSync(path.join(REPO_ROOT, 'packages', 'target-kubernetes', 'Dockerfile'), 'utf8');
    const baseTag = /docker build -f packages\/target-kubernetes\/Dockerfile -t (\S+) \./.exec(kubernetesDockerfile)?.[1];
    expect(baseTag).toBe(`mldeploy/serving:${version('target-kubernetes')}`);
    expect(of('ARG')).toEqual([`BASE=${baseTag}`]);
    expect(of('FROM')).toEqual(['${BASE}']);
  });

  it('runs the entry script, which exists and is executable in git, with `serve` by default (SageMaker passes it anyway)', () => {
    const copied = of('COPY');
    expect(copied).toEqual([
      '--chmod=0755 packages/target-sagemaker/container/sagemaker-entrypoint.sh /usr/local/bin/sagemaker-entrypoint.sh',
    ]);
    expect(JSON.parse(of('ENTRYPOINT')[0]!)).toEqual(['/usr/local/bin/sagemaker-entrypoint.sh']);
    expect(JSON.parse(of('CMD')[0]!)).toEqual(['serve']);
    const relative = path.relative(REPO_ROOT, ENTRYPOINT);
    const staged = execFileSync('git', ['ls-files', '--stage', '--', relative], { cwd: REPO_ROOT, encoding: 'utf8' });
    // `<mode> <object> <stage>\t<path>`: 100755 is what a checkout makes executable.
    const [mode, , , file] = staged.trim().split(/\s+/);
    expect([mode, file]).toEqual(['100755', relative]);
    expect(statSync(ENTRYPOINT).mode & 0o111).not.toBe(0);
  });

  it("declares SageMaker's port and the label for SAGEMAKER_BIND_TO_PORT, and runs as root as SageMaker expects", () => {
    expect(of('EXPOSE')).toEqual(['8080']);
    expect(of('LABEL')).toEqual(['com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true']);
    expect(of('USER')).toEqual(['root']);
  });
});

describe('the entry script, run as SageMaker runs the image (`serve`), on the iris ONNX model', () => {
  const FLOWERS = [
    [5.1, 3.5, 1.4, 0.2],
    [6.7, 3.1, 5.6, 2.4],
  ];
  const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
  let container: { url: string; stop(): Promise<void> };
  beforeAll(async () => {
    container = await startSageMakerContainerLocally(path.join(FIXTURE_MODELS, 'onnx-iris'));
  });
  afterAll(async () => {
    await container?.stop();
  });

  const invoke = async (contentType: string, body: string): Promise<unknown> => {
    // No Authorization header: SageMaker's front end sends none.
    const response = await fetch(`${container.url}/invocations`, { method: 'POST', headers: { 'content-type': contentType }, body });
    expect(response.status, await response.clone().text()).toBe(200);
    return response.json();
  };

  it('answers GET /ping with 200', async () => {
    expect((await fetch(`${container.url}/ping`)).status).toBe(200);
  });

  it('answers POST /invocations in JSON (dataframe_split) with the real labels', async () => {
    const body = JSON.stringify({ dataframe_split: { columns: COLUMNS, data: FLOWERS } });
    expect(await invoke('application/json', body)).toMatchObject({ predictions: { label: [0, 2] } });
  });

  it('answers POST /invocations in CSV, which SageMaker users often send, with the same labels', async () => {
    const body = [COLUMNS, ...FLOWERS].map((row) => row.join(',')).join('\n') + '\n';
    expect(await invoke('text/csv', body)).toMatchObject({ predictions: { label: [0, 2] } });
  });
});

describe('the entry script beyond loopback, as in the image (all interfaces)', () => {
  it("serves without a token, which SageMaker's front end never sends, and answers without Authorization", async (context) => {
    const address = nonLoopbackIPv4();
    if (address === undefined) context.skip('this machine has no non-loopback address to bind');
    const container = await startSageMakerContainerLocally(path.join(FIXTURE_MODELS, 'onnx-iris'), address);
    try {
      const response = await fetch(`${container.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ predictions: { label: [0] } });
    } finally {
      await container.stop();
    }
  });
});

describe('the entry script with another first argument', () => {
  it('runs the mldeploy CLI with the arguments, as the kubernetes image does: --version prints the version', async () => {
    const result = await runEntrypoint(['--version']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(version('mldeploy'));
  });
});
