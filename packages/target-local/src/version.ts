import { readFileSync } from 'node:fs';

/** This package's version, which the control plane and the model server report. */
export const TARGET_LOCAL_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
