import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { MlDeployError, getDeployClient, resolveConfig, runLocal, targetHelp } from '@mldeploy/core';
import { conformanceCases } from '@mldeploy/core/testing';
import { REPO_ROOT } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';

// docs/plugins.md's samples are what plugin authors copy: they are extracted here, type-checked
// with the project's strict settings, and the plugin is run through the conformance kit, so the
// doc cannot drift from a plugin that compiles and passes.

const DOC = readFileSync(path.join(REPO_ROOT, 'docs', 'plugins.md'), 'utf8');

/** The code block after `<!-- sample: name -->` in the doc. */
function sample(name: string): string {
  const match = new RegExp(`<!-- sample: ${name} -->\\n\`\`\`ts\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(DOC);
  if (match?.[1] === undefined) throw new Error(`docs/plugins.md has no sample "${name}"`);
  return match[1];
}

// Under the repository's node_modules, so that '@mldeploy/core', 'zod' and 'vitest' resolve as in
// a plugin project, and no linter or formatter looks at it.
const cacheDir = path.join(REPO_ROOT, 'node_modules', '.cache');
mkdirSync(cacheDir, { recursive: true });
const sampleDir = mkdtempSync(path.join(cacheDir, 'mldeploy-doc-samples-'));
afterAll(() => rmSync(sampleDir, { recursive: true, force: true }));
const pluginTs = path.join(sampleDir, 'plugin.mts');
const conformanceTs = path.join(sampleDir, 'conformance.mts');
writeFileSync(pluginTs, sample('plugin'));
writeFileSync(conformanceTs, sample('conformance'));
// The plugin as its package would ship it: compiled to JavaScript.
const pluginJs = path.join(sampleDir, 'plugin.mjs');
writeFileSync(
  pluginJs,
  ts.transpileModule(sample('plugin'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText,
);

const config = resolveConfig({ env: { MLDEPLOY_PLUGINS: `acme=${pluginJs}` }, cwd: sampleDir, homeDir: tempDir('home') });

describe('the samples of docs/plugins.md', () => {
  it('type-check with the project’s strict settings', () => {
    const base = ts.readConfigFile(path.join(REPO_ROOT, 'tsconfig.base.json'), (file) => ts.sys.readFile(file));
    const { options } = ts.parseJsonConfigFileContent(
      { compilerOptions: { ...(base.config as { compilerOptions: object }).compilerOptions, composite: false, noEmit: true } },
      ts.sys,
      sampleDir,
    );
    const program = ts.createProgram([pluginTs, conformanceTs], options);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  });

  it('the plugin loads, says its help, refuses an unknown config key by name, and serves run-local until stopped', async () => {
    expect(await targetHelp('acme', { config })).toMatch(/^Target URI: acme/);
    const client = await getDeployClient('acme:/config-check', { config });
    const error = (await client.createDeployment('d', 'm', { config: { sacle: '2' } }).catch((e: unknown) => e)) as MlDeployError;
    expect(error).toBeInstanceOf(MlDeployError);
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toMatch(/Unrecognized key: "sacle"/);
    await client.createDeployment('scaled', 'm', { config: { scale: '2' } });
    expect((await client.predict('scaled', { inputs: [[1, 2]] })).predictions).toEqual([6]);

    const lines: string[] = [];
    const controller = new AbortController();
    const serving = runLocal('acme', 'n', 'models:/m/1', undefined, {}, { config, log: (l) => lines.push(l), signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await serving;
    expect(lines).toEqual(['acme: serving models:/m/1 as n until stopped']);
  });
});

// The doc's conformance sample, with the plugin registered from where this test compiled it.
describe('the plugin of docs/plugins.md passes the conformance kit', () => {
  for (const c of conformanceCases({
    client: () => getDeployClient('acme:/conformance', { config }),
    modelUri: 'models:/iris/1',
    predictInput: {
      inputs: [
        [1, 2],
        [3, 4],
      ],
    },
    checkPredictions: (response) => expect(response.predictions).toEqual([3, 7]),
    concurrentInputs: [{ inputs: [[1]] }, { inputs: [[2]] }, { inputs: [[3, 4]] }],
    namePrefix: 'acme',
  })) {
    it(c.name, c.run);
  }
});
