/**
 * The control plane's process entry: `node server-main.js --home DIR [--port N] [--host H]`.
 * The local target's client starts it in the background on first use.
 */
import { parseArgs } from 'node:util';
import { errorToBody, resolveConfig, toMlDeployError } from '@mldeploy/core';
import { serveControlPlane } from './serve-control-plane.js';

const { values } = parseArgs({
  options: { home: { type: 'string' }, port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
  strict: true,
});
if (values.home === undefined) {
  process.stderr.write('server-main: --home DIR is required\n');
  process.exit(2);
}
try {
  await serveControlPlane(resolveConfig({ env: process.env, cwd: process.cwd() }), {
    home: values.home,
    host: values.host,
    port: Number(values.port),
    logTo: process.stdout,
  });
} catch (error) {
  // Its last words: the launcher turns this line back into the error (with its hint) for the user.
  const { error_code, message, hint } = errorToBody(toMlDeployError(error));
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: 'error', component: 'control-plane', error_code, message, hint })}\n`,
  );
  process.exitCode = 1;
}
