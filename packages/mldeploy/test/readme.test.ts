import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../test/support/paths.js';
import { cleanEnv, runCli } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';

/** The first fenced block of `language` under the README heading `heading`. */
function readmeSnippet(heading: string, language: string): string {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  const block = section === undefined ? null : new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'm').exec(section);
  if (block === null) throw new Error(`README.md has no ${language} block under "## ${heading}"`);
  return block[1]!;
}

describe('README', () => {
  it('the API snippet runs as written, from the repository root, on the local target', async () => {
    const snippet = readmeSnippet('API', 'ts');
    // A fresh HOME: the snippet's `local` target is $HOME/.mldeploy, not the developer's.
    const home = tempDir('readme-home');
    try {
      // The snippet has no type annotations, so Node runs it as the module a user would paste.
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '--eval', snippet], {
        cwd: REPO_ROOT,
        env: cleanEnv({ HOME: home }),
        timeout: 120_000,
      });
      // console.log's layout of the two values, on one line: the predictions, then asRecords().
      expect(stdout.replace(/\s+/g, ' ')).toMatch(
        /^\{ label: \[ 0 \], probabilities: \[ \[ [\d., e-]+\] \] \} \[ \{ label: 0, probabilities: \[ [\d., e-]+\] \} \] $/,
      );
      const left = await runCli(['list', '--json'], { env: { HOME: home } });
      expect(JSON.parse(left.stdout)).toEqual([]);
    } finally {
      await runCli(['server', 'stop'], { env: { HOME: home }, timeoutMs: 90_000 });
    }
  });
});
