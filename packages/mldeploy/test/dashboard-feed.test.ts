import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BaseDeploymentClient, MlDeployError, type Deployment, type Endpoint, type PredictionsResponse } from '@mldeploy/core';
import { plainFields, readTargetFeed } from '../src/dashboard/target-feed.js';

describe('what the dashboard gets of another target’s resources', () => {
  it('plain fields only: no nested records, nothing named like a secret, a name always', () => {
    expect(
      plainFields({
        name: 'iris',
        state: 'InService',
        replicas: 2,
        ready: true,
        config: { AWS_SECRET_ACCESS_KEY: 'x' },
        token: 'abc',
        api_key: 'k',
        url: 'u'.repeat(600),
      }),
    ).toEqual({ name: 'iris', state: 'InService', replicas: 2, ready: true, url: `${'u'.repeat(512)}…` });
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (resource) => {
        const fields = plainFields(resource);
        expect(typeof fields.name).toBe('string');
        for (const [key, value] of Object.entries(fields)) {
          expect(value === null || typeof value !== 'object', key).toBe(true);
          if (key !== 'name') expect(key).not.toMatch(/secret|token|passw|credential|key|auth|cookie|session|env/i);
        }
      }),
    );
  });
});

/**
 * A client whose listings are given (a stand-in for a plugin: what is tested is how the feed is
 * built from what a client answers; the real `--show` path runs against a real local home in
 * packages/target-local/test/dashboard-access.test.ts).
 */
class ListingClient extends BaseDeploymentClient {
  constructor(private readonly endpoints: () => Promise<Endpoint[]>) {
    super('listing:/test');
  }
  override listDeployments(): Promise<Deployment[]> {
    return Promise.resolve([{ name: 'iris', state: 'ready', config: { token: 'x' } }]);
  }
  override listEndpoints(): Promise<Endpoint[]> {
    return this.endpoints();
  }
  createDeployment(): Promise<Deployment> {
    return Promise.reject(this.notImplemented('createDeployment'));
  }
  updateDeployment(): Promise<Deployment> {
    return Promise.reject(this.notImplemented('updateDeployment'));
  }
  deleteDeployment(): Promise<void> {
    return Promise.reject(this.notImplemented('deleteDeployment'));
  }
  getDeployment(): Promise<Deployment> {
    return Promise.reject(this.notImplemented('getDeployment'));
  }
  predict(): Promise<PredictionsResponse> {
    return Promise.reject(this.notImplemented('predict'));
  }
}

describe('a feed of another target', () => {
  it('a target without endpoints shows none; any other failure to list them is the feed’s error', async () => {
    const without = await readTargetFeed(
      'listing:/test',
      new ListingClient(() => Promise.reject(new MlDeployError('NOT_IMPLEMENTED', 'no'))),
      10,
    );
    expect(without).toMatchObject({ error: null, deployments: [{ name: 'iris', state: 'ready' }], endpoints: [] });
    const denied = await readTargetFeed(
      'listing:/test',
      new ListingClient(() => Promise.reject(new MlDeployError('PERMISSION_DENIED', 'endpoints: access denied'))),
      10,
    );
    expect(denied).toMatchObject({ error: 'endpoints: access denied', deployments: [], endpoints: [] });
  });
});
