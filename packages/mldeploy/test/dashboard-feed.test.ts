import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plainFields } from '../src/dashboard/target-feed.js';

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
