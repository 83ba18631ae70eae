import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getDeployClient, resolveConfig } from 'mldeploy';
import { runCli } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';
import { pluginsEnv } from '../../core/test/support.js';

/** A project whose one installed package declares the targets `my_target` (not a usable name) and `fine`. */
function projectWithBrokenDeclaration(): string {
  const project = tempDir('broken-declaration');
  const dir = path.join(project, 'node_modules', 'underscore-target');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'underscore-target', version: '1.0.0', type: 'module', mldeploy: { targets: { my_target: './index.js' } } }),
  );
  return project;
}

describe('a mistyped target', () => {
  it('-t locl: the error suggests local, and says nothing of the environment', async () => {
    const result = await runCli(['list', '-t', 'locl']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: RESOURCE_DOES_NOT_EXIST: No plugin found for managing model deployments to "locl"\. Did you mean "local"\? Installed targets: .*local.* — Use the target "local"/,
    );
    expect(result.stderr).not.toContain('MLFLOW_DEPLOYMENTS_TARGET');
  });

  it('MLFLOW_DEPLOYMENTS_TARGET=locl: the error suggests local and says the target came from the variable', async () => {
    const result = await runCli(['list'], { env: { MLFLOW_DEPLOYMENTS_TARGET: 'locl' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Did you mean "local"\?.*\(The target came from MLFLOW_DEPLOYMENTS_TARGET=locl\.\)/);
  });

  it('a name far from every installed target gets no suggestion', async () => {
    const result = await runCli(['list', '-t', 'azureml']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('No plugin found for managing model deployments to "azureml". Installed targets:');
    expect(result.stderr).not.toContain('Did you mean');
  });
});

describe('a package that declares a target wrongly', () => {
  it('mldeploy help lists it apart as broken, with the reason, and not as installed', async () => {
    const project = projectWithBrokenDeclaration();
    const result = await runCli(['help'], { cwd: project });
    expect(result.code).toBe(0);
    const installedLine = /Support is currently installed for deployment to: (.*)/.exec(result.stdout)?.[1];
    expect(installedLine).toContain('local');
    expect(installedLine).not.toContain('my_target');
    expect(result.stdout).toContain(
      `Broken target declarations (not usable until fixed):\n  my_target (package underscore-target at ${path.join(project, 'node_modules', 'underscore-target')}): the target name "my_target" is not valid`,
    );
  });

  it('mldeploy help --json lists it under broken_targets, not installed_targets', async () => {
    const result = await runCli(['help', '--json'], { cwd: projectWithBrokenDeclaration() });
    expect(result.code).toBe(0);
    const help = JSON.parse(result.stdout) as { installed_targets: string[]; broken_targets: { target: string; reason: string }[] };
    expect(help.installed_targets).not.toContain('my_target');
    expect(help.broken_targets).toEqual([
      expect.objectContaining({
        target: 'my_target',
        reason: expect.stringContaining('the target name "my_target" is not valid') as string,
      }),
    ]);
  });

  it('using it gives INVALID_PLUGIN naming the package', async () => {
    const result = await runCli(['list', '-t', 'my_target'], { cwd: projectWithBrokenDeclaration() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: INVALID_PLUGIN: Plugin registered for the target my_target \(package underscore-target at .*\) is declared wrongly/,
    );
  });
});

describe('getDeployClient() without a target, in the mldeploy library', () => {
  const configFor = (env: Record<string, string>) => resolveConfig({ env, cwd: tempDir('no-target'), homeDir: tempDir('home') });

  it('defaults to local, as the CLI does', async () => {
    const client = await getDeployClient(undefined, { config: configFor({}) });
    expect(client.target).toBe('local');
    expect(client.targetUri).toBe('local');
  });

  it('takes MLFLOW_DEPLOYMENTS_TARGET from the configuration first', async () => {
    const client = await getDeployClient(undefined, {
      config: configFor({
        MLFLOW_DEPLOYMENTS_TARGET: 'faketarget:/somewhere',
        MLDEPLOY_PLUGINS: pluginsEnv({ faketarget: 'faketarget.mjs' }),
      }),
    });
    expect(client.target).toBe('faketarget');
    expect(client.targetUri).toBe('faketarget:/somewhere');
  });
});
