import { execFile } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';

const run = promisify(execFile);

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

// What a plugin author gets: @mldeploy/core packed as it would be published, installed alone into
// an empty project from the npm registry (zod comes from there).
describe('@mldeploy/core installed alone', () => {
  let project: string;

  beforeAll(async () => {
    const packDir = tempDir('pack');
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packDir], {
      cwd: path.join(REPO_ROOT, 'packages', 'core'),
    });
    const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
    project = tempDir('plugin-project');
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'acme-plugin', version: '1.0.0', type: 'module', private: true }),
    );
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(packDir, filename)], {
      cwd: project,
      timeout: 180_000,
    });
  }, 240_000);

  it('brings no native module, no model runtime and no SQLite', () => {
    const files = filesUnder(path.join(project, 'node_modules'));
    expect(files.filter((f) => f.endsWith('.node') || f.endsWith('binding.gyp'))).toEqual([]);
    const packages = readdirSync(path.join(project, 'node_modules')).filter((name) => !name.startsWith('.'));
    expect(packages.sort()).toEqual(['@mldeploy', 'zod']);
    expect(readdirSync(path.join(project, 'node_modules', '@mldeploy'))).toEqual(['core']);
  });

  it('ships only built code, and its entry points load', async () => {
    const shipped = filesUnder(path.join(project, 'node_modules', '@mldeploy', 'core'));
    expect(
      shipped.filter(
        (f) => f.startsWith('test/') || f.includes('.test.') || f.endsWith('.tsbuildinfo') || (f.endsWith('.ts') && !f.endsWith('.d.ts')),
      ),
    ).toEqual([]);
    const script =
      "const core = await import('@mldeploy/core'); const kit = await import('@mldeploy/core/testing'); " +
      'console.log(JSON.stringify([typeof core.getDeployClient, typeof core.defineTarget, typeof core.BaseDeploymentClient, typeof kit.conformanceCases, await core.installedTargets()]));';
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
    expect(JSON.parse(stdout)).toEqual(['function', 'function', 'function', 'function', []]);
  });
});
