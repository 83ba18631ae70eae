#!/usr/bin/env node
// The bin stays a thin shim so that the CLI's logic lives in compiled, tested modules.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});
