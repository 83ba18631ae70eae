import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  MlDeployError,
  PredictionsResponse,
  brokenTargets,
  getDeployClient,
  installedTargets,
  resolveConfig,
  runLocal,
  targetHelp,
} from '@mldeploy/core';
import { REPO_ROOT } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';
import { configWithPlugins, pluginPath } from './support.js';

async function failure(promise: Promise<unknown>): Promise<MlDeployError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MlDeployError);
  return error as MlDeployError;
}

/** A project folder with one installed package whose package.json is `manifest`. */
function projectWithPackage(name: string, manifest: Record<string, unknown>, files: Record<string, string> = {}): string {
  const project = tempDir('project');
  const dir = path.join(project, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', ...manifest }));
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  return project;
}

const REMOTE_DIST = pathToFileURL(path.join(REPO_ROOT, 'examples', 'target-remote', 'dist', 'index.js')).href;

describe('plugin discovery', () => {
  it('finds a target declared by an installed package, with no change to mldeploy', async () => {
    const project = projectWithPackage(
      'acme-mldeploy-target',
      { mldeploy: { targets: { acme: './index.js' } } },
      { 'index.js': `export { default } from ${JSON.stringify(REMOTE_DIST)};\n` },
    );
    const config = resolveConfig({ env: {}, cwd: project, homeDir: tempDir('home') });
    expect(await installedTargets({ config })).toContain('acme');
    const client = await getDeployClient('acme:/tmp/acme-state', { config });
    expect(client.target).toBe('acme');
    expect(await targetHelp('acme', { config })).toMatch(/remote/);
  });

  it('finds scoped packages', async () => {
    const project = tempDir('scoped');
    const dir = path.join(project, 'node_modules', '@acme', 'target');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: '@acme/target', type: 'module', mldeploy: { targets: { 'acme-scoped': './index.js' } } }),
    );
    writeFileSync(path.join(dir, 'index.js'), `export { default } from ${JSON.stringify(REMOTE_DIST)};\n`);
    expect(await installedTargets({ config: resolveConfig({ env: {}, cwd: project }) })).toContain('acme-scoped');
  });

  it('finds a package through a symlinked install (npm workspaces, npm link)', async () => {
    const project = tempDir('linked');
    mkdirSync(path.join(project, 'node_modules'));
    symlinkSync(path.join(REPO_ROOT, 'examples', 'target-remote'), path.join(project, 'node_modules', 'mldeploy-target-remote'));
    expect(await installedTargets({ config: resolveConfig({ env: {}, cwd: project }) })).toContain('remote');
  });

  it('MLDEPLOY_PLUGINS adds plugins that are not installed as packages, and wins over them', async () => {
    const config = configWithPlugins({ faketarget: 'faketarget.mjs', remote: 'minimal.mjs' });
    expect(await installedTargets({ config })).toEqual(expect.arrayContaining(['faketarget', 'remote']));
    expect(await targetHelp('remote', { config })).toBe('minimal');
  });

  it('rejects a malformed MLDEPLOY_PLUGINS entry, naming it', () => {
    expect(() => resolveConfig({ env: { MLDEPLOY_PLUGINS: 'just-a-path.js' }, cwd: process.cwd() })).toThrow(
      /MLDEPLOY_PLUGINS entry "just-a-path.js" must be NAME=MODULE_PATH/,
    );
    expect(() => resolveConfig({ env: { MLDEPLOY_PLUGINS: 'Bad_Name=./x.js' }, cwd: process.cwd() })).toThrow(/MLDEPLOY_PLUGINS/);
  });
});

describe('plugin validation (MLflow §2.2, §2.4)', () => {
  it('an unknown target keeps MLflow’s wording, lists the installed targets and says how to add one', async () => {
    const config = configWithPlugins({ faketarget: 'faketarget.mjs' });
    const error = await failure(getDeployClient('wrong_target', { config }));
    expect(error.code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(error.message).toMatch(/^No plugin found for managing model deployments to "wrong_target"\. Installed targets: .*faketarget/);
    expect(error.hint).toMatch(/MLDEPLOY_PLUGINS=wrong_target=/);
    expect(error.hint).toMatch(/"mldeploy": \{"targets"/);
  });

  it('a plugin without runLocal and targetHelp names the missing interfaces', async () => {
    const error = await failure(getDeployClient('broken', { config: configWithPlugins({ broken: 'missing-interfaces.mjs' }) }));
    expect(error.code).toBe('INVALID_PLUGIN');
    expect(error.message).toMatch(
      /^Plugin registered for the target broken \(module .*missing-interfaces\.mjs from MLDEPLOY_PLUGINS\) does not have all the required interfaces\. Missing interfaces: runLocal, targetHelp$/,
    );
  });

  it('a plugin whose client is not a BaseDeploymentClient subclass is refused', async () => {
    const error = await failure(getDeployClient('noclient', { config: configWithPlugins({ noclient: 'no-client-class.mjs' }) }));
    expect(error.code).toBe('INVALID_PLUGIN');
    expect(error.message).toMatch(/Plugin registered for the target noclient .* has no child class of BaseDeploymentClient/);
  });

  it('a plugin written for an unknown contract version is refused, naming both versions', async () => {
    const error = await failure(getDeployClient('future', { config: configWithPlugins({ future: 'future-version.mjs' }) }));
    expect(error.code).toBe('INVALID_PLUGIN');
    expect(error.message).toMatch(/plugin contract version 99, and this mldeploy supports version 1/);
  });

  it('a plugin that fails to load reports the cause', async () => {
    const error = await failure(getDeployClient('throws', { config: configWithPlugins({ throws: 'throws-on-import.mjs' }) }));
    expect(error.code).toBe('PLUGIN_LOAD_FAILED');
    expect(error.message).toMatch(
      /^Failed to load the plugin "throws" \(module .*throws-on-import\.mjs from MLDEPLOY_PLUGINS\): cannot connect to the licence server$/,
    );
    expect((error.cause as Error).message).toBe('cannot connect to the licence server');
  });

  it('a plugin module path that does not exist is a load failure', async () => {
    const error = await failure(getDeployClient('ghost', { config: configWithPlugins({ ghost: 'does-not-exist.mjs' }) }));
    expect(error.code).toBe('PLUGIN_LOAD_FAILED');
    expect(error.message).toMatch(/Failed to load the plugin "ghost"/);
  });

  it('a package declaring a target name that cannot be used in a URI is refused, naming the package', async () => {
    const project = projectWithPackage('underscore-target', { mldeploy: { targets: { my_target: './index.js' } } });
    const config = resolveConfig({ env: {}, cwd: project });
    const error = await failure(getDeployClient('my_target', { config }));
    expect(error.code).toBe('INVALID_PLUGIN');
    expect(error.message).toMatch(/package underscore-target .* the target name "my_target" is not valid/);
    // Discovery reports it as broken, not as installed.
    expect(await installedTargets({ config })).not.toContain('my_target');
    expect(await brokenTargets({ config })).toEqual([
      {
        target: 'my_target',
        origin: `package underscore-target at ${path.join(project, 'node_modules', 'underscore-target')}`,
        reason: expect.stringMatching(/^the target name "my_target" is not valid/) as unknown,
      },
    ]);
  });

  it('a package whose module path leaves the package is refused, and nothing outside is imported', async () => {
    const project = projectWithPackage('escaping-target', { mldeploy: { targets: { escape: '../../outside.js' } } });
    writeFileSync(path.join(project, 'outside.js'), 'globalThis.__mldeployEscaped = true;\n');
    const error = await failure(getDeployClient('escape', { config: resolveConfig({ env: {}, cwd: project }) }));
    expect(error.code).toBe('INVALID_PLUGIN');
    expect(error.message).toMatch(/the module path "\.\.\/\.\.\/outside\.js" leaves the package/);
    expect((globalThis as Record<string, unknown>)['__mldeployEscaped']).toBeUndefined();
  });

  it('one broken plugin does not stop the others from loading', async () => {
    const config = configWithPlugins({ throws: 'throws-on-import.mjs', faketarget: 'faketarget.mjs' });
    await failure(getDeployClient('throws', { config }));
    expect((await getDeployClient('faketarget', { config })).target).toBe('faketarget');
  });

  it('a client class without some required methods is refused at load, naming the plugin and every missing method', async () => {
    const error = await failure(getDeployClient('incomplete', { config: configWithPlugins({ incomplete: 'missing-methods.mjs' }) }));
    expect(error.code).toBe('INVALID_PLUGIN');
    expect(error.message).toMatch(
      /^Plugin registered for the target incomplete \(module .*missing-methods\.mjs from MLDEPLOY_PLUGINS\) is not a valid mldeploy plugin: its client class IncompleteClient does not implement the required methods getDeployment, predict/,
    );
  });

  it('runLocal and targetHelp go through the same validation', async () => {
    const config = configWithPlugins({ broken: 'missing-interfaces.mjs' });
    expect((await failure(runLocal('broken', 'n', 'm', undefined, {}, { config }))).code).toBe('INVALID_PLUGIN');
    expect((await failure(targetHelp('nothing-here', { config }))).code).toBe('RESOURCE_DOES_NOT_EXIST');
  });
});

describe("what a plugin's predict returns", () => {
  const config = configWithPlugins({ answers: 'predict-returns.mjs' });
  const predict = async (answer: string): Promise<unknown> =>
    (await getDeployClient('answers', { config })).predict('d', { inputs: [[1]], params: { answer } });

  it('a PredictionsResponse passes as it is, and a plain {"predictions": …} document becomes one', async () => {
    const response = await predict('predictions');
    expect(response).toBeInstanceOf(PredictionsResponse);
    expect(JSON.stringify(response)).toBe('{"predictions":[1,2],"model":"m"}');
    expect(((await predict('response')) as PredictionsResponse).asArray()).toEqual([1, 2]);
  });

  it('a string or an object without predictions is an INVALID_PLUGIN error naming the plugin and what it returned', async () => {
    for (const [answer, shown] of [
      ['string', '"[1, 2]"'],
      ['object', '{"outputs":[1,2]}'],
    ]) {
      const error = await failure(predict(answer!));
      expect(error.code).toBe('INVALID_PLUGIN');
      expect(error.target).toBe('answers');
      expect(error.message).toBe(
        `Plugin registered for the target answers (module ${pluginPath('predict-returns.mjs')} from MLDEPLOY_PLUGINS) returned from predict ${shown}, which is not a PredictionsResponse or a {"predictions": …} document`,
      );
    }
  });
});
