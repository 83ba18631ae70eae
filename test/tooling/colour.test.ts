import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/paths.js';
import { wantsColour } from '../support/plain-output.js';
import { cleanEnv, runCli } from '../support/run-cli.js';

const ESC = String.fromCharCode(27);
/** A terminal type that colour libraries take as "colours welcome", with neither variable set. */
const colourfulEnv = { TERM: 'xterm-256color', NO_COLOR: undefined, FORCE_COLOR: undefined, CI: undefined };

describe('no escape codes where there is no terminal', () => {
  it.each([
    [{}, false, false],
    [{}, true, true],
    [{ NO_COLOR: '1' }, true, false],
    [{ NO_COLOR: '' }, true, false],
    [{ FORCE_COLOR: '1' }, false, true],
    [{ FORCE_COLOR: '0' }, true, false],
    [{ FORCE_COLOR: '1', NO_COLOR: '1' }, false, true],
  ])('wantsColour(%j, isTTY %s) is %s', (env, isTTY, expected) => {
    expect(wantsColour(env, isTTY)).toBe(expected);
  });

  it('a vitest run piped to a file has none; FORCE_COLOR brings them back', async () => {
    const vitest = path.join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
    const run = (env: Record<string, string | undefined>) =>
      // A small file of pure tests that are not about colour.
      promisify(execFile)(process.execPath, [vitest, 'run', 'packages/core/test/target-uri.test.ts'], {
        cwd: REPO_ROOT,
        env: cleanEnv({ ...colourfulEnv, ...env }),
        timeout: 60_000,
      });
    const plain = await run({});
    expect(plain.stdout).toMatch(/\n\d+ passed, 0 failed\n$/);
    expect(plain.stdout + plain.stderr).not.toContain(ESC);
    const forced = await run({ FORCE_COLOR: '1' });
    expect(forced.stdout).toContain(`${ESC}[`);
  });

  it('the CLI writes none, on success, on help and on errors', async () => {
    for (const args of [['--help'], ['create', '--help'], ['list', '-t', 'nowhere'], ['deploy'], ['help', '-t', 'local']]) {
      const result = await runCli(args, { env: colourfulEnv });
      expect(result.stdout + result.stderr, args.join(' ')).not.toContain(ESC);
      expect(result.stdout + result.stderr, args.join(' ')).not.toBe('');
    }
  });
});
