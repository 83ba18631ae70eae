import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../test/support/paths.js';
import { NOT_FOR_PUBLISHING, packedFiles } from '../../../test/support/pack.js';

describe('the published mldeploy-target-remote tarball', () => {
  it('carries the built plugin and its types, and no build info or tests', async () => {
    const files = await packedFiles(path.join(REPO_ROOT, 'examples', 'target-remote'));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts']));
    expect(files.filter((f) => NOT_FOR_PUBLISHING.test(f))).toEqual([]);
  });
});
