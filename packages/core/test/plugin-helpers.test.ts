import { execFileSync } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MlDeployError, checkResourceName, checkTrafficSplit, homeFromTargetUri, pickByWeight, spawnProcessGroup } from '@mldeploy/core';

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof MlDeployError ? error.code : 'not an MlDeployError';
  }
};

describe('helpers a plugin shares with the built-in targets', () => {
  it('homeFromTargetUri: a default home, an absolute folder, and nothing else', () => {
    expect(homeFromTargetUri('acme', '/home/u/.mldeploy/acme')).toBe('/home/u/.mldeploy/acme');
    expect(homeFromTargetUri('acme:/', '/d')).toBe('/d');
    expect(homeFromTargetUri('acme:/srv/state/../x', '/d')).toBe('/srv/x');
    for (const uri of ['acme:relative', 'acme://host/path', 'acme:~/x']) {
      expect(() => homeFromTargetUri(uri, '/d')).toThrow(/^Invalid acme target URI .*: the suffix must be an absolute folder$/);
    }
  });

  it('checkResourceName refuses paths and oddities, naming the kind', () => {
    for (const ok of ['iris', 'Iris-2', 'a.b_c', 'x'.repeat(63)])
      expect(codeOf(() => checkResourceName('deployment', ok, 'acme'))).toBeUndefined();
    for (const bad of ['', '../x', '.hidden', 'a/b', 'a b', 'x'.repeat(64), 'é']) {
      expect(() => checkResourceName('endpoint', bad, 'acme')).toThrow(`Invalid endpoint name ${JSON.stringify(bad)}`);
    }
  });

  it('checkTrafficSplit wants at least one deployment and weights summing to 100', () => {
    expect(codeOf(() => checkTrafficSplit({ a: 90, b: 10 }, 'acme'))).toBeUndefined();
    expect(() => checkTrafficSplit({ a: 90, b: 20 }, 'acme')).toThrow("The traffic split's weights sum to 110; they must sum to 100");
    expect(codeOf(() => checkTrafficSplit({}, 'acme'))).toBe('INVALID_PARAMETER_VALUE');
  });

  it('pickByWeight gives each deployment exactly its weight of the 100 tickets, for any split', () => {
    const split = fc
      .array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 6 })
      .filter((w) => w.reduce((a, b) => a + b, 0) <= 100)
      .map((w) => {
        const weights = [...w, 100 - w.reduce((a, b) => a + b, 0)];
        return Object.fromEntries(weights.map((weight, i) => [`d${i}`, weight]));
      });
    fc.assert(
      fc.property(split, (traffic) => {
        const counts: Record<string, number> = {};
        for (let ticket = 0; ticket < 100; ticket += 1) {
          const chosen = pickByWeight(traffic, ticket);
          counts[chosen] = (counts[chosen] ?? 0) + 1;
        }
        return Object.entries(traffic).every(([name, weight]) => (counts[name] ?? 0) === weight);
      }),
    );
  });

  it('spawnProcessGroup stops the whole group, grandchildren included', async () => {
    // A shell that starts a long sleep as its own child, as mlflow starts uvicorn.
    const group = spawnProcessGroup('sh', ['-c', 'sleep 300 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await group.started;
    const grandchild = await new Promise<number>((resolve) =>
      group.child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
    );
    await group.stop(5_000);
    expect(group.hasExited()).toBe(true);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return !execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' })
          .trim()
          .startsWith('Z');
      } catch {
        return false;
      }
    };
    expect(alive(grandchild)).toBe(false);
  });

  it('spawnProcessGroup reports a missing command through `started`', async () => {
    const group = spawnProcessGroup(path.join('/nonexistent', 'mlflow'), []);
    await expect(group.started).rejects.toMatchObject({ code: 'ENOENT' });
    await group.exited;
    expect(group.hasExited()).toBe(true);
  });
});
