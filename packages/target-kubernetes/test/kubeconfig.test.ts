import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MlDeployError } from '@mldeploy/core';
import { tempDir } from '../../../test/support/temp.js';
import { loadKubeConnection } from '../src/kube/load-kube-config.js';

function kubeconfig(dir: string, name: string, body: Record<string, unknown>): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'Config', ...body }));
  return file;
}

describe('the kubeconfig, found and merged as kubectl does', () => {
  const dir = tempDir('kubeconfig');
  const first = kubeconfig(dir, 'first', {
    clusters: [{ name: 'shared', cluster: { server: 'https://first.example:6443' } }],
    users: [{ name: 'me', user: { token: 'a' } }],
    contexts: [{ name: 'dev', context: { cluster: 'shared', user: 'me', namespace: 'team' } }],
  });
  const second = kubeconfig(dir, 'second', {
    clusters: [{ name: 'shared', cluster: { server: 'https://second.example:6443' } }],
    users: [{ name: 'me', user: { token: 'b' } }],
    contexts: [{ name: 'prod', context: { cluster: 'shared', user: 'me' } }],
    'current-context': 'prod',
  });
  const env = { KUBECONFIG: `${first}${path.delimiter}${second}` };
  const context = { env, homeDir: dir, cwd: dir };

  it('merges files with names defined twice: the first definition wins, the current context is the first one set', () => {
    const connection = loadKubeConnection({ context: undefined, namespace: undefined }, context);
    expect(connection).toMatchObject({ context: 'prod', namespace: 'default', server: 'https://first.example:6443' });
  });

  it("takes the URI's context and namespace, else the context's namespace", () => {
    expect(loadKubeConnection({ context: 'dev', namespace: undefined }, context)).toMatchObject({ context: 'dev', namespace: 'team' });
    expect(loadKubeConnection({ context: 'dev', namespace: 'ml' }, context)).toMatchObject({ namespace: 'ml' });
  });

  it('names the contexts it has when the URI names one it does not', () => {
    try {
      loadKubeConnection({ context: 'staging', namespace: undefined }, context);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(MlDeployError);
      expect((error as MlDeployError).message).toBe('The kubeconfig has no context "staging"');
      expect((error as MlDeployError).hint).toContain('Its contexts: dev, prod.');
    }
  });

  it('a file that is not a kubeconfig is INVALID_STATE naming it', () => {
    const broken = path.join(dir, 'broken');
    writeFileSync(broken, 'clusters: [unclosed');
    expect(() => loadKubeConnection({ context: undefined, namespace: undefined }, { ...context, env: { KUBECONFIG: broken } })).toThrow(
      `Cannot read the kubeconfig ${broken}`,
    );
  });

  it('with nothing set and no ~/.kube/config outside a pod, says where it looked', () => {
    expect(() =>
      loadKubeConnection({ context: undefined, namespace: undefined }, { env: {}, homeDir: tempDir('no-home'), cwd: dir }),
    ).toThrow('No Kubernetes configuration found: KUBECONFIG is not set, ~/.kube/config does not exist, and this is not a pod');
  });
});
