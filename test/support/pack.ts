import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** The paths `npm pack` would put in the tarball of the package in `dir` (nothing is written). */
export async function packedFiles(dir: string): Promise<string[]> {
  // --ignore-scripts: the tests run after the build, and packing must not rebuild.
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, timeout: 60_000 });
  const [pack] = JSON.parse(stdout) as [{ files: { path: string }[] }];
  return pack.files.map((f) => f.path).sort();
}

/** Paths of build metadata and tests, which a published tarball must not carry. */
export const NOT_FOR_PUBLISHING = /\.tsbuildinfo$|(^|\/)(test|tests|__tests__)\/|\.(test|spec)\.[cm]?[jt]s$|(^|\/)tsconfig[^/]*\.json$/;
