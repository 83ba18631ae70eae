import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, type CliResult } from '../../../test/support/run-cli.js';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';

export const IRIS = path.join(FIXTURE_MODELS, 'onnx-iris');
export const IRIS_INPUT = { inputs: [[5.1, 3.5, 1.4, 0.2]] };

/** A fresh local target home; `cli` runs the CLI against it; `stop` ends its control plane. */
export function localHome(label: string): { home: string; target: string; cli: (...args: string[]) => Promise<CliResult>; json: <T>(...args: string[]) => Promise<T>; stop: () => Promise<void>; gateway: () => string } {
  const home = tempDir(`local-${label}`);
  const target = `local:${home}`;
  const cli = (...args: string[]): Promise<CliResult> => runCli([...args.slice(0, 1), '-t', target, ...args.slice(1)], { timeoutMs: 120_000 });
  return {
    home,
    target,
    cli,
    json: async <T>(...args: string[]): Promise<T> => {
      const result = await cli(...args, '--json');
      if (result.code !== 0) throw new Error(`mldeploy ${args.join(' ')} failed: ${result.stderr}`);
      return JSON.parse(result.stdout) as T;
    },
    stop: async () => {
      await runCli(['server', 'stop', '--home', home], { timeoutMs: 90_000 });
    },
    gateway: () => (JSON.parse(readFileSync(path.join(home, 'server.json'), 'utf8')) as { url: string }).url,
  };
}

/** POSTs a prediction to the gateway; returns status, body and the routing headers. */
export async function predictVia(url: string, body: unknown = IRIS_INPUT, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; deployment: string | null; revision: string | null; route: string | null }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return {
    status: response.status,
    body: await response.json(),
    deployment: response.headers.get('x-mldeploy-deployment'),
    revision: response.headers.get('x-mldeploy-revision'),
    route: response.headers.get('x-mldeploy-route'),
  };
}
