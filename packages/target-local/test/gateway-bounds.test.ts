import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IRIS, localHome } from './support.js';

/**
 * Sends only the headers (declaring `declared` bytes) and the first KiB of a body, and resolves
 * with the answer: a server that waited for the whole body would never answer (the test's
 * deadline then fails it).
 */
function answerBeforeBody(url: string, declared: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': declared } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: text });
      });
    });
    req.on('error', reject);
    req.write(Buffer.alloc(1024, 0x20));
  });
}

describe('the gateway bounds request bodies before reading them', () => {
  const local = localHome('bounds');
  let base: string;
  beforeAll(async () => {
    expect((await local.cli('create', '--name', 'small', '-m', IRIS, '-C', 'max_body_size=4096')).code).toBe(0);
    expect((await local.cli('create-endpoint', '--endpoint', 'front', '-C', 'traffic={"small": 100}')).code).toBe(0);
    base = local.gateway();
  }, 120_000);
  afterAll(() => local.stop());

  it('an unknown deployment or endpoint is 404 at once, with a 300 MB body still unsent', async () => {
    for (const route of ['/deployments/nothing/invocations', '/endpoints/nothing/invocations', '/v2/models/nothing/infer']) {
      const answer = await answerBeforeBody(`${base}${route}`, 300 * 1024 * 1024);
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body)).toMatchObject(
        route.startsWith('/v2') ? { error: expect.stringContaining('nothing') as string } : { error_code: 'RESOURCE_DOES_NOT_EXIST' },
      );
    }
  });

  it("a body over the deployment's max_body_size is 413 at once from Content-Length, directly and through an endpoint", async () => {
    for (const route of ['/deployments/small/invocations', '/endpoints/front/invocations']) {
      const answer = await answerBeforeBody(`${base}${route}`, 200 * 1024 * 1024);
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ error_code: 'REQUEST_TOO_LARGE' });
    }
  });

  it('a body within the limit is served', async () => {
    const response = await fetch(`${base}/deployments/small/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] }),
    });
    expect(response.status).toBe(200);
  });
});
