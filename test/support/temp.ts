import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A new empty folder under the system's temp folder. */
export function tempDir(label: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `mldeploy-${label}-`));
}

/** Writes `text` to a file `name` in a new temp folder and returns its path. */
export function tempFile(name: string, text: string): string {
  const file = path.join(tempDir('file'), name);
  writeFileSync(file, text);
  return file;
}
