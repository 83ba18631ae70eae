import { execFile } from 'node:child_process';
import path from 'node:path';
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

/** Packs the package in `dir` into `destination`, as `npm publish` would, and returns the tarball's path. */
export async function packTarball(dir: string, destination: string): Promise<string> {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], {
    cwd: dir,
    timeout: 60_000,
  });
  const [pack] = JSON.parse(stdout) as [{ filename: string }];
  return path.join(destination, pack.filename);
}
