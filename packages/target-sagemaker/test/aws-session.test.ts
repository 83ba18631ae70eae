import { describe, expect, it } from 'vitest';
import { refreshingCredentials } from '../src/aws/aws-session.js';

describe("an assumed role's credentials", () => {
  const minutes = (n: number): number => n * 60_000;

  it('are fetched once and shared, then fetched again 5 minutes before they expire (STS gives them for an hour)', async () => {
    let now = 0;
    let fetched = 0;
    const provider = refreshingCredentials(
      () => {
        fetched += 1;
        return Promise.resolve({ accessKeyId: `key-${fetched}`, secretAccessKey: 's', expiration: new Date(now + minutes(60)) });
      },
      () => now,
    );
    const [a, b] = await Promise.all([provider(), provider()]);
    expect(fetched).toBe(1);
    expect(a.accessKeyId).toBe('key-1');
    expect(b.accessKeyId).toBe('key-1');
    now = minutes(54);
    expect((await provider()).accessKeyId).toBe('key-1');
    now = minutes(55) + 1;
    const [c, d] = await Promise.all([provider(), provider()]);
    expect(fetched).toBe(2);
    expect(c.accessKeyId).toBe('key-2');
    expect(d.accessKeyId).toBe('key-2');
  });

  it('a failed fetch is not kept: the next call tries again', async () => {
    let calls = 0;
    const provider = refreshingCredentials(() => {
      calls += 1;
      return calls === 1 ? Promise.reject(new Error('STS unreachable')) : Promise.resolve({ accessKeyId: 'k', secretAccessKey: 's' });
    });
    await expect(provider()).rejects.toThrow('STS unreachable');
    expect((await provider()).accessKeyId).toBe('k');
    expect(calls).toBe(2);
  });
});
