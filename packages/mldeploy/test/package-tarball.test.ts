import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../test/support/paths.js';
import { NOT_FOR_PUBLISHING, packedFiles } from '../../../test/support/pack.js';

describe('the published mldeploy tarball', () => {
  it('carries the CLI, the built modules and their types, and no build info or tests', async () => {
    const files = await packedFiles(path.join(REPO_ROOT, 'packages', 'mldeploy'));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'bin/mldeploy.js', 'dist/index.js', 'dist/index.d.ts', 'dist/serving/index.js', 'dist/testing/index.js', 'dist/server/state-store.js']));
    expect(files.filter((f) => NOT_FOR_PUBLISHING.test(f))).toEqual([]);
    expect(files.filter((f) => !/^(package\.json|README\.md|LICENSE|bin\/|dist\/)/.test(f))).toEqual([]);
  });
});
