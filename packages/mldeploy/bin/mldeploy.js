#!/usr/bin/env node
// The bin stays a thin shim so that the CLI's logic lives in compiled, tested modules.
import { userInfo } from 'node:os';
import { main } from '../dist/cli/main.js';

/** Who runs this, for audit logs; none when the system has no entry for the uid (a container's, say). */
function user() {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  user: user(),
});
