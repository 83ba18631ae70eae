import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/paths.js';
import { NOT_FOR_PUBLISHING, packedFiles } from '../support/pack.js';

// What each published package must carry: its entry points (as its exports map names them) and
// their types; never build info, tests or tsconfig files.
const PACKAGES: Record<string, readonly string[]> = {
  core: ['dist/index.js', 'dist/index.d.ts', 'dist/testing/index.js', 'dist/testing/index.d.ts'],
  serving: ['dist/index.js', 'dist/index.d.ts', 'dist/serving/onnx-model.js'],
  'target-local': [
    'dist/index.js',
    'dist/index.d.ts',
    'dist/server/server-main.js',
    'dist/server/worker-main.js',
    'dist/server/state-store.js',
  ],
  'target-kubernetes': ['dist/index.js', 'dist/index.d.ts', 'Dockerfile'],
  'target-sagemaker': ['dist/index.js', 'dist/index.d.ts', 'Dockerfile', 'container/sagemaker-entrypoint.sh'],
  dashboard: ['dist/index.js', 'dist/index.d.ts', 'dist/ui/index.html', 'dist/ui/app.js', 'dist/ui/app.css'],
  mldeploy: ['bin/mldeploy.js', 'dist/index.js', 'dist/index.d.ts', 'dist/serving.js', 'dist/testing.js', 'dist/cli/main.js'],
};

describe('the published tarballs', () => {
  for (const [dir, expected] of Object.entries(PACKAGES)) {
    it(`${dir}: its entry points and types, and no build info, tests or tsconfig`, async () => {
      const files = await packedFiles(path.join(REPO_ROOT, 'packages', dir));
      expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', ...expected]));
      expect(files.filter((f) => NOT_FOR_PUBLISHING.test(f))).toEqual([]);
      // The plugins also carry their serving images' build files.
      expect(files.filter((f) => !/^(package\.json|README\.md|LICENSE|bin\/|dist\/|Dockerfile$|container\/)/.test(f))).toEqual([]);
    });
  }
});
