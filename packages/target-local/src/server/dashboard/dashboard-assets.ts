import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { MlDeployError } from '@mldeploy/core';

/** A built file of the dashboard's front end, read once. */
export interface DashboardAsset {
  readonly body: Buffer;
  readonly contentType: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The dashboard's built front end (`@mldeploy/dashboard`'s `dist/ui`), read into memory on first
 * use: a request names a file by its exact name in that folder, so no path can lead outside it.
 */
export class DashboardAssets {
  private files: Promise<ReadonlyMap<string, DashboardAsset>> | undefined;

  /** No I/O. */
  constructor(private readonly dir: string) {}

  /**
   * The file named `name` (e.g. `index.html`), or undefined.
   *
   * @throws MlDeployError `TEMPORARILY_UNAVAILABLE` when the front end was not built.
   */
  async get(name: string): Promise<DashboardAsset | undefined> {
    this.files ??= this.load().catch((error: unknown) => {
      this.files = undefined;
      throw error;
    });
    return (await this.files).get(name);
  }

  private async load(): Promise<ReadonlyMap<string, DashboardAsset>> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      throw new MlDeployError('TEMPORARILY_UNAVAILABLE', `The dashboard's front end is not built (${(error as Error).message})`, {
        hint: "Run 'npm run build' in the mldeploy checkout.",
      });
    }
    const files = new Map<string, DashboardAsset>();
    for (const name of names) {
      const contentType = TYPES[path.extname(name)];
      if (contentType !== undefined) files.set(name, { body: await readFile(path.join(this.dir, name)), contentType });
    }
    return files;
  }
}
