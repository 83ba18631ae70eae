import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_MODELS, REPO_ROOT } from '../support/paths.js';
import { packTarball } from '../support/pack.js';
import { tempDir } from '../support/temp.js';

const run = promisify(execFile);

// What a user gets from `npm install mldeploy` where onnxruntime-node's install script cannot
// download its CUDA libraries (a firewall, no network beyond the npm registry or its mirror):
// onnxruntime-node is an optional dependency, so the install succeeds and the CLI runs; ONNX
// models then say how to add onnxruntime-node, and a project .npmrc line keeps it installed.

/** A shell's environment as a user has it: no npm_* variables from the npm running this test, and no skip flag. */
function userEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^npm_/i.test(key) || key.startsWith('ONNXRUNTIME_NODE_INSTALL')) continue;
    env[key] = value;
  }
  // onnxruntime-node's install script reaches api.nuget.org through global-agent, which honours
  // these: a proxy where nothing listens makes the CUDA download impossible, and only it (npm has
  // its own proxy settings and takes the packages from its cache or registry as usual).
  return { ...env, GLOBAL_AGENT_HTTPS_PROXY: 'http://127.0.0.1:9', GLOBAL_AGENT_HTTP_PROXY: 'http://127.0.0.1:9' };
}

/** A new project with `npmrc` as its .npmrc, and the tarballs installed by a plain `npm install`. */
async function installInto(tarballs: readonly string[], npmrc = ''): Promise<string> {
  const project = tempDir('user-project');
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }));
  if (npmrc !== '') writeFileSync(path.join(project, '.npmrc'), npmrc);
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], {
    cwd: project,
    env: userEnv(),
    timeout: 240_000,
  });
  return project;
}

/** Loads the ONNX iris model through the installed serving runtime: the platform it serves on, or the error. */
async function loadOnnxModel(project: string): Promise<{ platform?: string; code?: string; hint?: string }> {
  const script =
    "const { loadServedModel } = await import('@mldeploy/serving');" +
    `try { const m = await loadServedModel(${JSON.stringify(path.join(FIXTURE_MODELS, 'onnx-iris'))}, { flavor: 'onnx', pyfunc: {} });` +
    ' console.log(JSON.stringify({ platform: m.platform })); await m.close(); }' +
    ' catch (e) { console.log(JSON.stringify({ code: e.code, hint: e.hint })); }';
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project, timeout: 60_000 });
  return JSON.parse(stdout) as { platform?: string; code?: string; hint?: string };
}

describe('the packed mldeploy, installed where the CUDA download cannot be made', () => {
  let tarballs: string[];

  beforeAll(async () => {
    const packDir = tempDir('tarballs');
    tarballs = [];
    for (const dir of ['core', 'serving', 'dashboard', 'target-local', 'mldeploy']) {
      tarballs.push(await packTarball(path.join(REPO_ROOT, 'packages', dir), packDir));
    }
  }, 120_000);

  it('a plain npm install succeeds, the CLI runs, and an ONNX model says how to add onnxruntime-node', async () => {
    const project = await installInto(tarballs);
    const bin = path.join(project, 'node_modules', 'mldeploy', 'bin', 'mldeploy.js');
    const help = await run(process.execPath, [bin, 'help'], { cwd: project, env: userEnv() });
    expect(help.stdout).toMatch(/Support is currently installed for deployment to: .*local/);
    // npm dropped the optional package whose install script failed.
    expect(existsSync(path.join(project, 'node_modules', 'onnxruntime-node'))).toBe(false);
    const loaded = await loadOnnxModel(project);
    expect(loaded.code).toBe('INVALID_STATE');
    expect(loaded.hint).toContain('ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node');
  }, 300_000);

  it('with onnxruntime-node-install=skip in the project .npmrc, onnxruntime-node stays and ONNX models load', async () => {
    const project = await installInto(tarballs, 'onnxruntime-node-install=skip\n');
    expect(existsSync(path.join(project, 'node_modules', 'onnxruntime-node'))).toBe(true);
    expect(await loadOnnxModel(project)).toEqual({ platform: 'onnxruntime_onnx' });
  }, 300_000);
});
