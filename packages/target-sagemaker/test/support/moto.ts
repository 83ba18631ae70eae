import path from 'node:path';
import { freePort, venvBin } from '../../../../test/support/mlflow-scoring-server.js';
import { startProcessServer, type ProcessServer } from '../../../../test/support/process-server.js';

/** A running moto server (AWS stand-in: SageMaker, SageMaker Runtime, S3), with UpdateEndpoint added. */
export interface MotoServer extends ProcessServer {
  readonly url: string;
  /** An environment for the AWS SDK's default chain pointed at it: static test credentials. */
  readonly env: Record<string, string>;
}

/**
 * Starts moto's own server on loopback through `moto_with_update_endpoint.py` (the test
 * environment's patch of moto: it adds UpdateEndpoint, which moto 5.2.5 lacks) and waits for it.
 * `env` reaches moto (e.g. INITIAL_NO_AUTH_ACTION_COUNT, which turns on its IAM checks).
 */
export async function startMoto(options: { readonly env?: Record<string, string> } = {}): Promise<MotoServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startProcessServer({
    command: path.join(venvBin(), 'python'),
    args: [path.join(import.meta.dirname, 'moto_with_update_endpoint.py'), String(port)],
    env: { PATH: process.env['PATH'] ?? '', ...options.env },
    readyUrl: `${url}/moto-api/`,
  });
  return {
    ...server,
    url,
    env: { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_ENDPOINT_URL: url, AWS_REGION: 'us-east-1' },
  };
}
