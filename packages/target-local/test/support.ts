import { getDeployClient, type BaseDeploymentClient, type ClientOptions } from '@mldeploy/core';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, type CliResult } from '../../../test/support/run-cli.js';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';
import { describeProcess, processesOfHome } from '../../../test/support/processes.js';
import { waitFor } from '../../../test/support/wait-for.js';

export const IRIS = path.join(FIXTURE_MODELS, 'onnx-iris');
export const IRIS_INPUT = { inputs: [[5.1, 3.5, 1.4, 0.2]] };

/** A fresh local target home; `cli` runs the CLI against it; `stop` ends its control plane. */
export function localHome(label: string): {
  home: string;
  target: string;
  cli: (...args: string[]) => Promise<CliResult>;
  json: <T>(...args: string[]) => Promise<T>;
  stop: () => Promise<void>;
  gateway: () => string;
} {
  const home = tempDir(`local-${label}`);
  const target = `local:${home}`;
  const cli = (...args: string[]): Promise<CliResult> =>
    runCli([...args.slice(0, 1), '-t', target, ...args.slice(1)], { timeoutMs: 120_000 });
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
      // Every test file's end checks this: once stopped, no control plane, gateway or worker of the home runs on.
      await waitFor(
        `every process of ${home} to exit after server stop`,
        () => (processesOfHome(home).length === 0 ? true : undefined),
        15_000,
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; still running: ${processesOfHome(home).map(describeProcess).join('; ')}`);
      });
    },
    gateway: () => (JSON.parse(readFileSync(path.join(home, 'server.json'), 'utf8')) as { url: string }).url,
  };
}

/** POSTs a prediction to the gateway; returns status, body and the routing headers. */
export async function predictVia(
  url: string,
  body: unknown = IRIS_INPUT,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; deployment: string | null; revision: string | null; route: string | null }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: await response.json(),
    deployment: response.headers.get('x-mldeploy-deployment'),
    revision: response.headers.get('x-mldeploy-revision'),
    route: response.headers.get('x-mldeploy-route'),
  };
}

/** One sample of the Prometheus text format. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * Parses Prometheus' text exposition format, failing on any line that is not a comment, blank
 * or a well-formed sample: so a test that finds its samples also proves the whole text parses.
 */
export function parseMetrics(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type !== null) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (sample === null) throw new Error(`Not a line of the Prometheus text format: ${line}`);
    const labels: Record<string, string> = {};
    const body = sample[2] ?? '';
    const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
    let consumed = 0;
    for (let match = pair.exec(body); match !== null; match = pair.exec(body)) {
      labels[match[1]!] = match[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      consumed = pair.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`Bad labels in: ${line}`);
    const value = sample[3] === '+Inf' ? Infinity : sample[3] === '-Inf' ? -Infinity : Number(sample[3]);
    if (Number.isNaN(value) && sample[3] !== 'NaN') throw new Error(`Bad value in: ${line}`);
    samples.push({ name: sample[1]!, labels, value });
  }
  return { samples, types };
}

/** The samples named `name` whose labels are exactly `labels`. */
export function samplesOf(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>>): Sample[] {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted);
}

/**
 * The deployment client for a `local` URI, with the local target registered the way the
 * `mldeploy` package registers it (a built-in target), through @mldeploy/core alone.
 */
export function localClient(targetUri?: string, options: ClientOptions = {}): Promise<BaseDeploymentClient> {
  return getDeployClient(targetUri, { ...options, builtInTargets: [{ target: 'local', load: () => import('@mldeploy/target-local') }] });
}

/** The API token a control plane published in its home's server.json. */
export function apiToken(home: string): string {
  return (JSON.parse(readFileSync(path.join(home, 'server.json'), 'utf8')) as { token: string }).token;
}

/** fetch with the home's API token, as the mldeploy client sends it. */
export function fetchWithToken(home: string, url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    ...init,
    headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${apiToken(home)}` },
  });
}

/** A failed fetch as text with its cause (fetch's own message, "fetch failed", says nothing): for a test's failure list. */
export function describeFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause === undefined ? String(error) : `${String(error)}: ${cause.code ?? ''} ${cause.message ?? ''}`;
}
