import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { REPO_ROOT } from '../../../test/support/paths.js';
import { API, deploymentSchema, endpointSchema, rolloutSchema } from '../src/server/api-schema.js';
import { IRIS, fetchWithToken, localHome } from './support.js';

interface Case {
  readonly what: string;
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array | ReadableStream<Uint8Array>;
  readonly status: number;
  readonly code: string;
  readonly message?: RegExp;
  readonly hint?: RegExp;
  readonly allow?: string;
}

const JSON_TYPE = { 'content-type': 'application/json' };
/** A create request's body with `fields` (a deployment that must never come to exist). */
const create = (fields: Record<string, unknown>): string => JSON.stringify({ name: 'never', ...fields });
const NO_DOWNLOAD = /^The control plane does not download models: model_uri .* is remote and the request has no model_path$/;
const BIG = JSON.stringify({ name: 'big', config: { traffic: { iris: 100 }, padding: 'x'.repeat(2 * 1024 * 1024) } });

function chunked(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start: (controller) => {
      controller.enqueue(new TextEncoder().encode(text));
      controller.close();
    },
  });
}

describe('the REST API refuses bad input with a clear error and the right status, changing nothing', () => {
  const local = localHome('rest-api');
  beforeAll(async () => {
    expect((await local.cli('create', '--name', 'iris', '-m', IRIS)).code).toBe(0);
    expect((await local.cli('create-endpoint', '--endpoint', 'front', '-C', 'traffic={"iris": 100}')).code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await local.stop();
  });

  const cases: Case[] = [
    {
      what: 'a method the route does not take',
      method: 'PUT',
      path: '/api/v1/deployments',
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
      message: /^Method PUT is not allowed on \/api\/v1\/deployments; it takes GET, HEAD, POST$/,
      allow: 'GET, HEAD, POST',
    },
    {
      what: 'POST on a deployment',
      method: 'POST',
      path: '/api/v1/deployments/iris',
      headers: JSON_TYPE,
      body: '{}',
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
      allow: 'GET, HEAD, PATCH, DELETE',
    },
    {
      what: 'GET on shutdown (which must not stop anything)',
      method: 'GET',
      path: '/api/v1/shutdown',
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
      allow: 'POST',
    },
    { what: 'DELETE on health', method: 'DELETE', path: '/api/v1/health', status: 405, code: 'METHOD_NOT_ALLOWED', allow: 'GET, HEAD' },
    { what: 'POST on /metrics', method: 'POST', path: '/metrics', status: 405, code: 'METHOD_NOT_ALLOWED', allow: 'GET, HEAD' },
    {
      what: 'a wrong method with an oversized body of the wrong type: the method is refused first',
      method: 'PUT',
      path: '/api/v1/endpoints',
      headers: { 'content-type': 'text/plain' },
      body: BIG,
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
    },
    {
      what: 'a body over the 1 MiB limit (Content-Length)',
      method: 'POST',
      path: '/api/v1/endpoints',
      headers: JSON_TYPE,
      body: BIG,
      status: 413,
      code: 'REQUEST_TOO_LARGE',
      message: /larger than the API's limit of 1048576 bytes/,
    },
    {
      what: 'a body over the limit, chunked',
      method: 'PATCH',
      path: '/api/v1/endpoints/front',
      headers: JSON_TYPE,
      body: chunked(BIG),
      status: 413,
      code: 'REQUEST_TOO_LARGE',
    },
    {
      what: 'a text/plain body',
      method: 'POST',
      path: '/api/v1/endpoints',
      headers: { 'content-type': 'text/plain' },
      body: '{"name": "x"}',
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: /takes JSON/,
    },
    {
      what: 'an XML body',
      method: 'PATCH',
      path: '/api/v1/deployments/iris',
      headers: { 'content-type': 'application/xml' },
      body: '<config/>',
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    // fetch sets no Content-Type for bytes.
    {
      what: 'a body without a Content-Type',
      method: 'POST',
      path: '/api/v1/deployments/iris/rollback',
      body: new TextEncoder().encode('{}'),
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      what: 'malformed JSON',
      method: 'POST',
      path: '/api/v1/deployments',
      headers: JSON_TYPE,
      body: '{"name": "x",',
      status: 400,
      code: 'BAD_REQUEST',
      message: /^The request body is not valid JSON: /,
    },
    {
      what: 'a JSON array',
      method: 'POST',
      path: '/api/v1/endpoints',
      headers: JSON_TYPE,
      body: '[1, 2]',
      status: 400,
      code: 'BAD_REQUEST',
      message: /^The request body must be a JSON object$/,
    },
    {
      what: 'a missing name',
      method: 'POST',
      path: '/api/v1/deployments',
      headers: JSON_TYPE,
      body: '{"model_uri": "/x"}',
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^The request needs a string 'name'$/,
    },
    {
      what: 'a name that is not a string',
      method: 'POST',
      path: '/api/v1/endpoints',
      headers: JSON_TYPE,
      body: '{"name": 5}',
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^The request needs a string 'name'$/,
    },
    {
      what: 'two problems at once',
      method: 'POST',
      path: '/api/v1/deployments',
      headers: JSON_TYPE,
      body: '{}',
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^The request needs a string 'name'; The request needs a string 'model_uri'$/,
    },
    {
      what: 'a config that is not an object',
      method: 'PATCH',
      path: '/api/v1/deployments/iris',
      headers: JSON_TYPE,
      body: '{"config": [1]}',
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^config must be an object, got \[1\]$/,
    },
    {
      what: 'a flavor that is not a string',
      method: 'PATCH',
      path: '/api/v1/deployments/iris',
      headers: JSON_TYPE,
      body: '{"model_uri": "/x", "flavor": 3}',
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^flavor must be a string, got 3$/,
    },
    {
      what: 'an unknown (misspelt) field',
      method: 'PATCH',
      path: '/api/v1/deployments/iris',
      headers: JSON_TYPE,
      body: '{"modelUri": "/x"}',
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^Unknown field\(s\) in the request body: 'modelUri'$/,
    },
    {
      what: 'an unknown field beside a valid endpoint',
      method: 'POST',
      path: '/api/v1/endpoints',
      headers: JSON_TYPE,
      body: '{"name": "extra", "config": {"traffic": {"iris": 100}}, "colour": "blue"}',
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /'colour'/,
    },
    {
      what: 'revision 0',
      method: 'POST',
      path: '/api/v1/deployments/iris/rollback',
      headers: JSON_TYPE,
      body: '{"to_revision": 0}',
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^to_revision must be a revision number, got 0$/,
    },
    {
      what: 'a revision as a string',
      method: 'POST',
      path: '/api/v1/deployments/iris/rollback',
      headers: JSON_TYPE,
      body: '{"to_revision": "1"}',
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^to_revision must be a revision number, got "1"$/,
    },
    {
      what: 'a fractional revision',
      method: 'POST',
      path: '/api/v1/deployments/iris/rollback',
      headers: JSON_TYPE,
      body: '{"to_revision": 1.5}',
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^to_revision must be a revision number, got 1\.5$/,
    },
    {
      what: 'a tail that is not a count',
      method: 'GET',
      path: '/api/v1/deployments/iris/logs?tail=abc',
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^tail must be a positive whole number, got "abc"$/,
    },
    {
      what: 'an audit limit of 0',
      method: 'GET',
      path: '/api/v1/audit?limit=0',
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^limit must be a positive whole number, got "0"$/,
    },
    {
      what: 'a traffic split that does not sum to 100',
      method: 'PATCH',
      path: '/api/v1/endpoints/front',
      headers: JSON_TYPE,
      body: '{"config": {"traffic": {"iris": 50}}}',
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /sum to 50; they must sum to 100/,
    },
    {
      what: 'a registry URI without the model_path the client resolved it to',
      method: 'POST',
      path: '/api/v1/deployments',
      headers: JSON_TYPE,
      body: create({ model_uri: 'models:/iris@champion' }),
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: NO_DOWNLOAD,
      hint: /Resolve the model on the client.*sends model_path/,
    },
    ...['runs:/0123456789abcdef/model', 'http://127.0.0.1:1/api/2.0/mlflow-artifacts/artifacts/x', 'mlflow-artifacts:/1/x'].map(
      (uri): Case => ({
        what: `an update to ${uri} without model_path`,
        method: 'PATCH',
        path: '/api/v1/deployments/iris',
        headers: JSON_TYPE,
        body: JSON.stringify({ model_uri: uri }),
        status: 400,
        code: 'INVALID_PARAMETER_VALUE',
        message: NO_DOWNLOAD,
      }),
    ),
    {
      what: 'a model_path that does not exist',
      method: 'POST',
      path: '/api/v1/deployments',
      headers: JSON_TYPE,
      body: create({ model_uri: 'models:/iris/1', model_path: '/no/such/model' }),
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^model_path \/no\/such\/model does not exist$/,
      hint: /the folder that holds the MLmodel file/,
    },
    {
      what: 'a model_path that is a file',
      method: 'POST',
      path: '/api/v1/deployments',
      headers: JSON_TYPE,
      body: create({ model_uri: 'models:/iris/1', model_path: path.join(IRIS, 'MLmodel') }),
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^model_path .*\/MLmodel is not a directory$/,
    },
    {
      what: 'a model_path without an MLmodel file',
      method: 'PATCH',
      path: '/api/v1/deployments/iris',
      headers: JSON_TYPE,
      body: JSON.stringify({ model_uri: 'models:/iris/1', model_path: '/etc' }),
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^model_path \/etc has no readable MLmodel file: it is not an MLflow model directory$/,
    },
    {
      what: 'a relative model_path climbing out (../../etc)',
      method: 'POST',
      path: '/api/v1/deployments',
      headers: JSON_TYPE,
      body: create({ model_uri: 'models:/iris/1', model_path: '../../etc' }),
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^model_path must be an absolute path, got "\.\.\/\.\.\/etc"$/,
    },
    {
      what: 'an absolute model_path with .. segments, even to a real model',
      method: 'POST',
      path: '/api/v1/deployments',
      headers: JSON_TYPE,
      body: create({ model_uri: 'models:/iris/1', model_path: `${IRIS}/../${path.basename(IRIS)}` }),
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^model_path must not contain '\.\.' segments/,
    },
    {
      what: 'a model_path with a NUL byte',
      method: 'POST',
      path: '/api/v1/deployments',
      headers: JSON_TYPE,
      body: create({ model_uri: 'models:/iris/1', model_path: `${IRIS}\u0000/x` }),
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^model_path must not contain NUL bytes/,
    },
    {
      what: 'a local model_uri (relative to the home) that climbs to a folder without a model',
      method: 'POST',
      path: '/api/v1/deployments',
      headers: JSON_TYPE,
      body: create({ model_uri: '../../../../../../../../etc' }),
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^model_uri \/etc has no readable MLmodel file/,
    },
    {
      what: 'a model_path without the model_uri it was resolved from',
      method: 'PATCH',
      path: '/api/v1/deployments/iris',
      headers: JSON_TYPE,
      body: JSON.stringify({ model_path: IRIS }),
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^model_path needs the model_uri it was resolved from$/,
    },
    {
      what: 'a model_version without a model_path',
      method: 'POST',
      path: '/api/v1/deployments',
      headers: JSON_TYPE,
      body: create({ model_uri: IRIS, model_version: '3' }),
      status: 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: /^model_version needs the model_path it describes$/,
    },
    {
      what: 'an unknown route',
      method: 'GET',
      path: '/api/v1/nothing',
      status: 404,
      code: 'RESOURCE_DOES_NOT_EXIST',
      message: /^No route GET \/api\/v1\/nothing$/,
    },
  ];

  it('each bad request gets its status and code, and the state is as before', async () => {
    const base = local.gateway();
    const snapshot = async (): Promise<unknown> => ({
      deployments: await (await fetchWithToken(local.home, `${base}/api/v1/deployments`)).json(),
      endpoints: await (await fetchWithToken(local.home, `${base}/api/v1/endpoints`)).json(),
      revisions: await (await fetchWithToken(local.home, `${base}/api/v1/deployments/iris/revisions`)).json(),
      // Changes that failed in the control plane are recorded (audit.md); the changes that were made are as before.
      audit: (
        (await (await fetchWithToken(local.home, `${base}/api/v1/audit?limit=10000`)).json()) as { entries: { result: string }[] }
      ).entries.filter((entry) => entry.result === 'ok'),
    });
    const before = await snapshot();
    for (const c of cases) {
      const response = await fetchWithToken(local.home, `${base}${c.path}`, {
        method: c.method,
        headers: c.headers,
        body: c.body,
        ...(c.body instanceof ReadableStream ? { duplex: 'half' } : {}),
      }).catch((error: unknown) => {
        throw new Error(`${c.what}: ${String(error)}`, { cause: error });
      });
      const body = (await response.json()) as { error_code: string; message: string; hint?: string };
      expect({ what: c.what, status: response.status, code: body.error_code }).toEqual({ what: c.what, status: c.status, code: c.code });
      if (c.message !== undefined) expect(body.message, c.what).toMatch(c.message);
      if (c.hint !== undefined) expect(body.hint, c.what).toMatch(c.hint);
      if (c.allow !== undefined) expect(response.headers.get('allow'), c.what).toBe(c.allow);
    }
    expect(await snapshot()).toEqual(before);
    expect(await (await fetchWithToken(local.home, `${base}/api/v1/health`)).json()).toMatchObject({ status: 'ok' });
  });

  it('a model_path is served and recorded with the original URI and version; a local or file: model_uri needs none', async () => {
    const base = local.gateway();
    const post = (body: unknown): Promise<Response> =>
      fetchWithToken(local.home, `${base}/api/v1/deployments`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify(body) });
    try {
      const resolved = await post({ name: 'resolved', model_uri: 'models:/iris@champion', model_path: IRIS, model_version: '7' });
      expect(resolved.status).toBe(201);
      expect(await resolved.json()).toMatchObject({ model_uri: 'models:/iris@champion', model_version: '7', state: 'ready' });
      expect(await (await fetchWithToken(local.home, `${base}/api/v1/deployments/resolved/revisions`)).json()).toMatchObject({
        revisions: [{ model_uri: 'models:/iris@champion', model_version: '7' }],
      });
      const fileUri = pathToFileURL(IRIS).href;
      const plain = await post({ name: 'file-uri', model_uri: fileUri });
      expect(plain.status).toBe(201);
      expect(await plain.json()).toMatchObject({ model_uri: fileUri, model_version: null, state: 'ready' });
    } finally {
      for (const name of ['resolved', 'file-uri'])
        await fetchWithToken(local.home, `${base}/api/v1/deployments/${name}`, { method: 'DELETE' });
    }
  });

  it('answers match the schemas the client checks them with', async () => {
    const base = local.gateway();
    const deployments = (await (await fetchWithToken(local.home, `${base}/api/v1/deployments`)).json()) as { deployments: unknown[] };
    for (const d of deployments.deployments) expect(deploymentSchema.strict().safeParse(d).success).toBe(true);
    expect(
      endpointSchema.strict().safeParse(await (await fetchWithToken(local.home, `${base}/api/v1/endpoints/front`)).json()).success,
    ).toBe(true);
    const logs = API.logs.response
      .strict()
      .parse(await (await fetchWithToken(local.home, `${base}/api/v1/deployments/iris/logs?tail=3`)).json());
    expect(logs.entries.length).toBeLessThanOrEqual(3);
  });
});

describe('docs/server-api.md', () => {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'server-api.md'), 'utf8');
  // Rows of the routes table: | `METHOD /path?query` | body | answer |
  const rows = new Map<string, { query: string; body: string; answer: string }>();
  for (const match of doc.matchAll(/^\| `([A-Z]+) (\/api\/v1\/[^`?]*)(\?[^`]*)?` \|([^|]*)\|(.*)\|$/gm)) {
    rows.set(`${match[1]!} ${match[2]!}`, { query: match[3] ?? '', body: match[4]!.trim(), answer: match[5]!.trim() });
  }
  const routes = Object.entries(API).map(([name, route]) => ({
    name,
    route,
    key: `${route.method} ${route.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`,
  }));
  const keysOf = (schema: unknown): string[] => (schema instanceof z.ZodObject ? Object.keys(schema.shape) : []);

  it('documents every route of the API, and no route the API does not have', () => {
    expect([...rows.keys()].sort()).toEqual(routes.map((r) => r.key).sort());
  });

  it('names every query parameter, body field and answer field of each route', () => {
    const deploymentDoc = /\*\*Deployment\*\*:([^\n]*(?:\n(?!\n)[^\n]*)*)/.exec(doc)?.[1] ?? '';
    const endpointDoc = /\*\*Endpoint\*\*:([^\n]*(?:\n(?!\n)[^\n]*)*)/.exec(doc)?.[1] ?? '';
    const rolloutDoc = /\*\*Rollout\*\*:([^\n]*(?:\n(?!\n)[^\n]*)*)/.exec(doc)?.[1] ?? '';
    for (const { name, route, key } of routes) {
      const row = rows.get(key)!;
      const query = 'query' in route ? keysOf(route.query) : [];
      for (const field of query) expect(row.query, `${name}: query ${field}`).toContain(`${field}=`);
      const body = 'body' in route ? keysOf(route.body) : [];
      for (const field of body) expect(row.body, `${name}: body field ${field}`).toContain(`"${field}"`);
      if (route.response === deploymentSchema) {
        expect(row.answer, name).toContain('Deployment');
        for (const field of keysOf(deploymentSchema)) expect(deploymentDoc, `Deployment field ${field}`).toContain(`\`${field}\``);
      } else if (route.response === endpointSchema) {
        expect(row.answer, name).toContain('Endpoint');
        for (const field of keysOf(endpointSchema)) expect(endpointDoc, `Endpoint field ${field}`).toContain(`\`${field}\``);
      } else if (route.response === rolloutSchema) {
        expect(row.answer, name).toContain('Rollout');
        for (const field of keysOf(rolloutSchema)) expect(rolloutDoc, `Rollout field ${field}`).toContain(`\`${field}\``);
      } else {
        for (const field of keysOf(route.response)) expect(row.answer, `${name}: answer field ${field}`).toContain(`"${field}"`);
      }
      if (route.status !== 200) expect(row.answer, `${name}: status`).toMatch(new RegExp(`^${route.status}\\b`));
    }
  });
});
