import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/paths.js';
import { tempDir } from '../support/temp.js';

const run = promisify(execFile);
const DEPCRUISE = path.join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs');
const CONFIG = path.join(REPO_ROOT, '.dependency-cruiser.cjs');

/** Runs dependency-cruiser with the project's rules in `cwd`; its exit code counts the errors. */
async function cruise(cwd: string, paths: readonly string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [DEPCRUISE, '--config', CONFIG, ...paths], { cwd });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

/** The source folders of every workspace package (tests and built code are not cruised). */
function sourceFolders(root: string): string[] {
  return ['packages', 'examples'].flatMap((dir) =>
    (existsSync(path.join(root, dir)) ? readdirSync(path.join(root, dir)) : [])
      .map((name) => path.join(dir, name, 'src'))
      .filter((src) => existsSync(path.join(root, src))),
  );
}

/** Writes `files` (path → source) under `root`. */
function plant(root: string, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
}

describe('architecture boundaries (dependency-cruiser, .dependency-cruiser.cjs)', () => {
  it('the source tree keeps every rule', async () => {
    const { code, output } = await cruise(REPO_ROOT, sourceFolders(REPO_ROOT));
    expect(output).toContain('no dependency violations found');
    expect(code).toBe(0);
  });

  it('planted violations fail, each naming its rule', async () => {
    const root = tempDir('boundaries');
    plant(root, {
      'tsconfig.lint.json': JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowJs: true },
        include: ['packages'],
      }),
      // core reaching up into the serving runtime, by package name through a workspace link
      'packages/core/package.json': JSON.stringify({
        name: '@mldeploy/core',
        type: 'module',
        dependencies: { '@mldeploy/serving': '0.1.0' },
      }),
      'packages/core/src/plugins/uses-serving.ts': "import { x } from '@mldeploy/serving';\nexport const y = x;\n",
      'packages/serving/package.json': JSON.stringify({
        name: '@mldeploy/serving',
        type: 'module',
        exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
      }),
      'packages/serving/dist/index.d.ts': 'export declare const x = 1;\n',
      'packages/serving/src/models/model.ts': 'export const x = 1;\n',
      // errors importing the client
      'packages/core/src/errors/uses-client.ts': "import { c } from '../client/client.js';\nexport const e = c;\n",
      'packages/core/src/client/client.ts': 'export const c = 1;\n',
      // a cycle
      'packages/serving/src/serving/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'packages/serving/src/serving/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      // the local target's client reaching into the control plane's internals
      'packages/target-local/src/local-target/client.ts': "import { plane } from '../server/control-plane.js';\nexport const p = plane;\n",
      'packages/target-local/src/server/control-plane.ts': 'export const plane = 1;\n',
      // something importing the CLI
      'packages/target-local/src/server/uses-cli.ts': "import { main } from '../../../mldeploy/src/cli/main.js';\nexport const m = main;\n",
      'packages/mldeploy/src/cli/main.ts': 'export const main = 1;\n',
    });
    mkdirSync(path.join(root, 'node_modules', '@mldeploy'), { recursive: true });
    symlinkSync(path.join(root, 'packages', 'serving'), path.join(root, 'node_modules', '@mldeploy', 'serving'));
    const { code, output } = await cruise(root, sourceFolders(root));
    expect(code).toBeGreaterThan(0);
    for (const rule of [
      'core-is-the-bottom',
      'core-errors-at-the-bottom',
      'no-circular',
      'client-talks-to-the-server-api',
      'nothing-reaches-the-cli',
      'targets-below-cli',
    ]) {
      expect(output).toContain(rule);
    }
  });
});
