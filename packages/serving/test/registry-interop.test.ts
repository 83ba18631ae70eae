import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MlDeployError } from '@mldeploy/core';
import { mlflowConnectionFromEnv, resolveModel, type MlflowConnection } from '@mldeploy/serving';
import { freePort } from '../../../test/support/mlflow-scoring-server.js';
import { registryForTests } from '../../../test/support/mlflow-tracking-server.js';
import { CLI_BIN } from '../../../test/support/paths.js';
import { cleanEnv } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';
import { closeTo, post, recordedCases, serveSideBySide } from './support.js';

const mlflow = registryForTests();

const connection = (overrides: Partial<MlflowConnection> = {}): MlflowConnection => ({
  ...mlflowConnectionFromEnv({ MLFLOW_TRACKING_URI: mlflow.url }),
  backoffMs: 50,
  ...overrides,
});
const resolve = (uri: string, cacheDir = tempDir('cache'), overrides: Partial<MlflowConnection> = {}): ReturnType<typeof resolveModel> =>
  resolveModel(uri, { connection: connection(overrides), cacheDir, cwd: process.cwd() });

describe('model URIs resolved against a real MLflow registry', () => {
  it('every URI form resolves to the model files', async () => {
    const uris = [
      'models:/iris@champion',
      'models:/iris/1',
      'models:/iris/latest',
      `runs:/${mlflow.made.runs['onnx-iris']}/model`,
      `models:/${mlflow.made.logged_models.iris_onnx.model_id}`,
      `runs:/${mlflow.made.logged_models.iris_onnx.run_id}/iris_onnx`,
      'models:/regressor/1',
      'models:/sk-iris@prod',
      ...(mlflow.made.stage === null ? [] : [`models:/iris/${mlflow.made.stage}`]),
    ];
    for (const uri of uris) {
      const resolved = await resolve(uri);
      expect(existsSync(path.join(resolved.dir, 'MLmodel')), uri).toBe(true);
      expect(
        readdirSync(resolved.dir).some((f) => f === 'model.onnx' || f === 'model.pkl'),
        uri,
      ).toBe(true);
    }
  });

  it('an alias resolves to its version; latest to the highest; the version is returned, not written into the model (MLflow writes registered_model_meta)', async () => {
    const champion = await resolve('models:/iris@champion');
    expect(champion.registered).toEqual({ name: 'iris', version: mlflow.made.registered.iris.at(-1) });
    expect(readdirSync(champion.dir)).not.toContain('registered_model_meta');
    expect((await resolve('models:/iris/latest')).registered).toEqual({ name: 'iris', version: '2' });
  });

  it('downloads once: a second resolve of the same model comes from the cache', async () => {
    const cache = tempDir('cache');
    expect((await resolve('models:/iris@champion', cache)).cached).toBe(false);
    const again = await resolve('models:/iris/2', cache);
    expect(again.cached).toBe(true);
    expect(readdirSync(cache).filter((f) => !f.startsWith('.'))).toHaveLength(1);
  });

  it.each([
    [
      'an unknown alias',
      () => 'models:/iris@nope',
      /Could not load model models:\/iris@nope \(step: resolve\): Registered model alias nope not found/,
    ],
    ['an unknown version', () => 'models:/iris/99', /\(step: resolve\): Model Version \(name=iris, version=99\) not found/],
    ['an unknown model', () => 'models:/nope/latest', /\(step: resolve\)/],
    [
      'an unknown run',
      () => 'runs:/0123456789abcdef0123456789abcdef/model',
      /\(step: resolve\): Run with id=0123456789abcdef0123456789abcdef not found/,
    ],
    ['a run path without a model', () => `runs:/${mlflow.made.runs['onnx-iris']}/nothing`, /\(step: list\)/],
  ])('%s fails naming the URI, the step and what to check', async (_what, uriOf, message) => {
    const error = (await resolve(uriOf()).catch((e: unknown) => e)) as MlDeployError;
    expect(error).toBeInstanceOf(MlDeployError);
    expect(error.message).toMatch(message);
    expect(error.hint).toBeDefined();
  });

  it('a download shows its progress on a terminal (run under a pseudo-terminal with script(1))', async () => {
    const input = path.join(tempDir('tty'), 'in.json');
    writeFileSync(input, JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] }));
    const command = [process.execPath, CLI_BIN, 'models', 'predict', '-m', 'models:/iris/1', '-i', input].join(' ');
    const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], {
      env: { ...cleanEnv(), MLFLOW_TRACKING_URI: mlflow.url, MLDEPLOY_CACHE_DIR: tempDir('tty-cache') },
    });
    expect(stdout).toMatch(/Downloading models:\/iris\/1: \d+\/\d+ files, \d+\.\d MB/);
    expect(stdout).toContain('"predictions"');
  });

  it('without MLFLOW_TRACKING_URI a registry URI says what to set', async () => {
    const error = (await resolveModel('models:/iris/1', {
      connection: mlflowConnectionFromEnv({}),
      cacheDir: tempDir('c'),
      cwd: '/',
    }).catch((e: unknown) => e)) as MlDeployError;
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toMatch(/needs an MLflow registry server, and MLFLOW_REGISTRY_URI \/ MLFLOW_TRACKING_URI is not set/);
  });

  it('an unreachable server is TEMPORARILY_UNAVAILABLE after retries', async () => {
    const port = await freePort();
    const error = (await resolveModel('models:/iris/1', {
      connection: { ...mlflowConnectionFromEnv({ MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}` }), maxRetries: 2, backoffMs: 10 },
      cacheDir: tempDir('c'),
      cwd: '/',
    }).catch((e: unknown) => e)) as MlDeployError;
    expect(error.code).toBe('TEMPORARILY_UNAVAILABLE');
    expect(error.message).toMatch(/Could not load model models:\/iris\/1 \(step: resolve\): Could not reach/);
  });
});

/**
 * A fault-injecting proxy in front of the real tracking server: it answers 503 to the first
 * `failures` requests, or cuts the connection of file downloads, then forwards faithfully.
 */
async function faultyProxy(
  target: string,
  fault: { failures?: number; cutDownloads?: boolean; evilListing?: boolean },
): Promise<{ url: string; server: Server; count: () => number; authorizations: (string | undefined)[] }> {
  let seen = 0;
  const authorizations: (string | undefined)[] = [];
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    seen += 1;
    authorizations.push(req.headers.authorization);
    if (seen <= (fault.failures ?? 0)) {
      res.writeHead(503).end('busy');
      return;
    }
    const isFile = /\/mlflow-artifacts\/artifacts\/.+/.test(req.url ?? '') && !(req.url ?? '').includes('?');
    if (fault.evilListing === true && /\/mlflow-artifacts\/artifacts\?/.test(req.url ?? '')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          files: [
            { path: 'MLmodel', is_dir: false },
            { path: '../../escaped', is_dir: false, file_size: 4 },
          ],
        }),
      );
      return;
    }
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        if (fault.cutDownloads === true && isFile) {
          res.writeHead(up.statusCode ?? 200, { ...up.headers, 'content-length': '1000000' });
          res.write('partial');
          res.socket?.destroy();
          return;
        }
        res.writeHead(up.statusCode ?? 200, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, server, count: () => seen, authorizations };
}

/** Resolves `models:/iris/1` with the registry at `url` (the proxy), retrying quickly. */
function resolveThrough(url: string, cacheDir: string, overrides: Partial<MlflowConnection> = {}): ReturnType<typeof resolveModel> {
  return resolveModel('models:/iris/1', {
    connection: { ...mlflowConnectionFromEnv({ MLFLOW_TRACKING_URI: url }), backoffMs: 10, ...overrides },
    cacheDir,
    cwd: '/',
  });
}

describe('downloads through a fault-injecting proxy (the registry behind it is real)', () => {
  it('transient 503s are retried and the model still resolves', async () => {
    const proxy = await faultyProxy(mlflow.url, { failures: 2 });
    try {
      const resolved = await resolveThrough(proxy.url, tempDir('c'));
      expect(existsSync(path.join(resolved.dir, 'MLmodel'))).toBe(true);
      expect(proxy.count()).toBeGreaterThan(2);
    } finally {
      proxy.server.close();
    }
  });

  it('a download cut off mid-file leaves no model and no partial files behind', async () => {
    const proxy = await faultyProxy(mlflow.url, { cutDownloads: true });
    const cache = tempDir('c');
    try {
      const error = (await resolveThrough(proxy.url, cache, { maxRetries: 1 }).catch((e: unknown) => e)) as MlDeployError;
      expect(error).toBeInstanceOf(MlDeployError);
      expect(error.message).toMatch(/\(step: download\)/);
      expect(readdirSync(cache)).toEqual([]);
    } finally {
      proxy.server.close();
    }
  });

  it('a listing with a path that escapes the download folder is refused, and nothing is written', async () => {
    const proxy = await faultyProxy(mlflow.url, { evilListing: true });
    const cache = tempDir('c');
    try {
      const error = (await resolveThrough(proxy.url, cache).catch((e: unknown) => e)) as MlDeployError;
      expect(error.message).toMatch(/\(step: list\): The artifact listing contains an unsafe path "\.\.\/\.\.\/escaped"/);
      expect(readdirSync(cache)).toEqual([]);
      expect(existsSync(path.join(cache, '..', 'escaped'))).toBe(false);
    } finally {
      proxy.server.close();
    }
  });

  it('MLflow credentials go to the configured registry, and never to another host a model URI names', async () => {
    const registry = await faultyProxy(mlflow.url, {});
    const elsewhere = await faultyProxy(mlflow.url, {});
    try {
      const connection = (trackingUri: string): MlflowConnection => ({
        ...mlflowConnectionFromEnv({ MLFLOW_TRACKING_URI: trackingUri, MLFLOW_TRACKING_TOKEN: 'user-secret' }),
        maxRetries: 0,
      });
      await resolveModel('models:/iris/1', { connection: connection(registry.url), cacheDir: tempDir('c'), cwd: '/' });
      expect(registry.authorizations.length).toBeGreaterThan(0);
      expect(new Set(registry.authorizations)).toEqual(new Set(['Bearer user-secret']));
      // An http(s) model URI on a host the user allowed, that is not the registry: fetched, but without the token.
      const uri = `${elsewhere.url}/api/2.0/mlflow-artifacts/artifacts/nothing/here`;
      const allowed = { ...connection(registry.url), allowedHosts: [new URL(elsewhere.url).host] };
      await resolveModel(uri, { connection: allowed, cacheDir: tempDir('c'), cwd: '/' }).catch(() => undefined);
      expect(elsewhere.count()).toBeGreaterThan(0);
      expect(elsewhere.authorizations.filter((a) => a !== undefined)).toEqual([]);
    } finally {
      registry.server.close();
      elsewhere.server.close();
    }
  });

  describe('http(s) model URIs come only from the configured servers and the hosts the user allowed', () => {
    // The path of the iris model's files on a tracking server's artifact proxy.
    const irisFiles = async (): Promise<string> => new URL((await resolve('models:/iris/1')).source).pathname;

    it('a URI on another host is refused before any request reaches it, naming the host and how to allow it', async () => {
      const other = await faultyProxy(mlflow.url, {});
      try {
        const uri = `${other.url}${await irisFiles()}`;
        const cache = tempDir('c');
        const error = (await resolveModel(uri, { connection: connection(), cacheDir: cache, cwd: '/' }).catch(
          (e: unknown) => e,
        )) as MlDeployError;
        const host = new URL(other.url).host;
        expect(error.code).toBe('PERMISSION_DENIED');
        expect(error.message).toContain(
          `Model files are not fetched from ${host}: it is neither the MLflow tracking nor the registry server`,
        );
        expect(error.hint).toContain(`MLDEPLOY_ALLOWED_MODEL_HOSTS=${host}`);
        expect(other.count()).toBe(0);
        expect(readdirSync(cache)).toEqual([]);
      } finally {
        other.server.close();
      }
    });

    it('MLDEPLOY_ALLOWED_MODEL_HOSTS lets one through, by host:port or by host for any port', async () => {
      const other = await faultyProxy(mlflow.url, {});
      try {
        const uri = `${other.url}${await irisFiles()}`;
        const { host, hostname } = new URL(other.url);
        for (const allowed of [host, `example.org, ${hostname.toUpperCase()}`]) {
          const env = { MLFLOW_TRACKING_URI: mlflow.url, MLDEPLOY_ALLOWED_MODEL_HOSTS: allowed };
          const resolved = await resolveModel(uri, { connection: mlflowConnectionFromEnv(env), cacheDir: tempDir('c'), cwd: '/' });
          expect(existsSync(path.join(resolved.dir, 'model.onnx')), allowed).toBe(true);
        }
        expect(other.count()).toBeGreaterThan(0);
        // Another port of an allowed host:port is still another server.
        const env = { MLFLOW_TRACKING_URI: mlflow.url, MLDEPLOY_ALLOWED_MODEL_HOSTS: `${hostname}:1` };
        const refused = await resolveModel(uri, { connection: mlflowConnectionFromEnv(env), cacheDir: tempDir('c'), cwd: '/' }).catch(
          (e: unknown) => e as MlDeployError,
        );
        expect((refused as MlDeployError).code).toBe('PERMISSION_DENIED');
      } finally {
        other.server.close();
      }
    });

    it('an mlflow-artifacts URI naming another host is refused too; the tracking server itself needs no allowing', async () => {
      const other = await faultyProxy(mlflow.url, {});
      try {
        const files = (await irisFiles()).replace('/api/2.0/mlflow-artifacts/artifacts/', '');
        const error = (await resolve(`mlflow-artifacts://${new URL(other.url).host}/${files}`).catch((e: unknown) => e)) as MlDeployError;
        expect(error.code).toBe('PERMISSION_DENIED');
        expect(other.count()).toBe(0);
        expect(existsSync(path.join((await resolve(`mlflow-artifacts:/${files}`)).dir, 'MLmodel'))).toBe(true);
      } finally {
        other.server.close();
      }
    });

    it.each(['http://models.example.com', 'host/path', 'a b'])('an allowed-hosts entry %j that is not a host is refused', (entry) => {
      expect(() => mlflowConnectionFromEnv({ MLDEPLOY_ALLOWED_MODEL_HOSTS: entry })).toThrow(
        /MLDEPLOY_ALLOWED_MODEL_HOSTS entry ".*" is not a host or host:port/,
      );
    });
  });

  it('a leftover partial download from a crash does not stop the next one', async () => {
    const cache = tempDir('c');
    mkdirSync(path.join(cache, '.partial-deadbeef-0000'), { recursive: true });
    const resolved = await resolve('models:/iris/1', cache);
    expect(existsSync(path.join(resolved.dir, 'model.onnx'))).toBe(true);
  });
});

const KNOWN_DEVIATIONS = new Set(['csv', 'float for an int64 input']);

describe('mldeploy models serve and mlflow models serve answer alike, from the registry', () => {
  for (const [fixture, uriOf] of [
    ['onnx-iris', () => 'models:/iris@champion'],
    ['onnx-regressor', () => `runs:/${mlflow.made.runs['onnx-regressor']}/model`],
    ['sklearn-iris', () => 'models:/sk-iris/1'],
  ] as const) {
    it(`${fixture} via ${fixture === 'onnx-iris' ? 'an alias' : fixture === 'onnx-regressor' ? 'a run' : 'a version'}: same predictions (within 1e-6), same statuses and error codes`, async () => {
      const { ours, theirs } = await serveSideBySide(uriOf(), mlflow.url);
      try {
        for (const recorded of recordedCases(fixture)) {
          if (fixture === 'onnx-iris' && KNOWN_DEVIATIONS.has(recorded.name)) continue;
          const [a, b] = await Promise.all([
            post(`${ours.url}/invocations`, recorded.body, recorded.content_type),
            post(`${theirs.url}/invocations`, recorded.body, recorded.content_type),
          ]);
          expect(a.status, `${recorded.name}: status`).toBe(b.status);
          if (b.status === 200)
            expect(closeTo(a.body, b.body), `${recorded.name}: ${JSON.stringify(a.body)} vs ${JSON.stringify(b.body)}`).toBe(true);
          else if (typeof b.body === 'object' && b.body !== null)
            expect((a.body as { error_code: string }).error_code, recorded.name).toBe((b.body as { error_code: string }).error_code);
        }
      } finally {
        await Promise.all([ours.stop(), theirs.stop()]);
      }
    }, 240_000);
  }
});
