import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IRIS, IRIS_INPUT, localHome, predictVia } from './support.js';

/**
 * One raw HTTP exchange on its own connection: the path goes out exactly as generated (fetch
 * would normalise it), and no answer depends on what an earlier request did to a shared socket
 * (an unparseable request, such as method FOO, is answered 400 and its connection closed).
 */
function exchange(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname, port, method, path, agent: false, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// A path segment: the real names, names that are not there, names that look like object keys
// (`__proto__`), malformed and odd escapes, arbitrary unicode (escaped) and raw URL characters.
const segment = fc.oneof(
  fc.constantFrom(
    'iris',
    'front',
    'nothing',
    '',
    '.',
    '..',
    '%zz',
    '%',
    '%2F',
    'iris%00',
    '__proto__',
    'constructor',
    'toString',
    'iris;x',
  ),
  fc.string({ unit: 'grapheme', maxLength: 8 }).map(encodeURIComponent),
  fc.stringMatching(/^[!-~]{0,8}$/).map((s) => s.replaceAll('/', '').replaceAll('?', '').replaceAll('#', '')),
);

const path = fc
  .tuple(
    fc.oneof(
      // The routes that reach the replica, with the real names: what happens past the lookup.
      {
        weight: 10,
        arbitrary: fc.constantFrom(
          '/deployments/iris/invocations',
          '/endpoints/front/invocations',
          '/v2/models/iris/infer',
          '/v2/models/iris/versions/1/infer',
          '/v2/models/iris',
          '/v2/models/iris/ready',
        ),
      },
      segment.map((s) => `/deployments/${s}/invocations`),
      segment.map((s) => `/endpoints/${s}/invocations`),
      segment.map((s) => `/v2/models/${s}/infer`),
      segment.map((s) => `/v2/models/${s}`),
      segment.map((s) => `/v2/models/${s}/ready`),
      fc.tuple(segment, segment).map(([name, version]) => `/v2/models/${name}/versions/${version}/infer`),
      fc.constantFrom('/v2', '/v2/', '/v2/health/live', '/v2/health/ready', '/v2/models', '/v2/models/', '/deployments//invocations'),
      fc.array(segment, { maxLength: 4 }).map((parts) => `/v2/${parts.join('/')}`),
      fc.array(segment, { maxLength: 4 }).map((parts) => `/deployments/${parts.join('/')}`),
      fc.array(segment, { maxLength: 4 }).map((parts) => `/endpoints/${parts.join('/')}`),
    ),
    fc.oneof(fc.constant(''), fc.constantFrom('?', '?x=1', '?%zz', '?a=%E0%A4%A'), fc.stringMatching(/^\?[!-~]{0,8}$/)),
  )
  .map(([route, query]) => `${route}${query}`);

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constant('POST') },
  fc.constantFrom('GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND', 'FOO'),
);

const headers = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/json',
      'application/json',
      'application/json',
      'text/csv',
      'application/csv',
      'application/json; charset=utf-8',
      'application/json; format=pandas-split',
      'text/plain',
      'multipart/form-data; boundary=x',
      '',
      ';;;',
    ),
    'x-mldeploy-deployment': fc.constantFrom('iris', 'nothing', '', '__proto__', 'toString', 'constructor', 'front'),
    authorization: fc.constantFrom('Bearer nope', 'Basic eDp5', ''),
    accept: fc.constantFrom('application/json', 'text/html', '*/*'),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      JSON.stringify(IRIS_INPUT),
      '{"inputs": [[NaN, 3.5, 1e400, null]]}',
      JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }),
      '0,1,2,3\n5.1,3.5,1.4,0.2\n',
    ),
  },
  fc.constant(''),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.record({ inputs: fc.jsonValue({ maxDepth: 3 }) }).map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.integer({ min: 33, max: 2000 }).map((depth) => `{"inputs": ${'['.repeat(depth)}${']'.repeat(depth)}}`),
);

/**
 * The gateway in front of a real deployment and endpoint: whatever arrives on its routes
 * (arbitrary paths under /deployments, /endpoints and /v2, any method, odd headers and bodies),
 * the answer is 2xx, 3xx or 4xx. A 5xx would be the gateway's own failure: the one replica is up
 * throughout, so not even 503 is expected. The gateway still serves afterwards.
 */
describe('the gateway never answers 5xx to what a client sends (property, issue 8, finding 7)', () => {
  const local = localHome('gateway-properties');
  let base: string;
  beforeAll(async () => {
    expect((await local.cli('create', '--name', 'iris', '-m', IRIS)).code).toBe(0);
    expect((await local.cli('create-endpoint', '--endpoint', 'front', '-C', 'traffic={"iris": 100}')).code).toBe(0);
    base = local.gateway();
  }, 120_000);
  afterAll(() => local.stop());

  it('any path, method, headers and body under the gateway routes get an answer below 500', async () => {
    await fc.assert(
      fc.asyncProperty(method, path, headers, body, async (verb, route, sent, text) => {
        const answer = await exchange(base, verb, route, sent, text);
        expect(answer.status, `${verb} ${route} → ${answer.status} ${answer.body.slice(0, 300)}`).toBeLessThan(500);
      }),
      { numRuns: 500 },
    );
    const direct = await predictVia(`${base}/deployments/iris/invocations`);
    expect(direct.status).toBe(200);
    const viaEndpoint = await predictVia(`${base}/endpoints/front/invocations`, IRIS_INPUT, { 'x-mldeploy-deployment': 'iris' });
    expect(viaEndpoint).toMatchObject({ status: 200, deployment: 'iris' });
  });

  // Found by the property above: these pins were looked up as deployments (404 "Deployment
  // "toString" does not exist") because the endpoint's traffic map inherited them.
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'a pin naming an object key (%s) is 400: not a deployment of the endpoint',
    async (pin) => {
      const answer = await predictVia(`${base}/endpoints/front/invocations`, IRIS_INPUT, { 'x-mldeploy-deployment': pin });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        error_code: 'BAD_REQUEST',
        message: expect.stringContaining(`"${pin}" is not a deployment of endpoint "front"`) as string,
      });
    },
  );
});
