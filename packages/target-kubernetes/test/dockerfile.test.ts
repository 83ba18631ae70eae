import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../test/support/paths.js';
import { MODEL_DIR, SERVING_PORT, servingArgs } from '../src/manifests/serving-deployment.js';

/**
 * The serving image cannot be built or pulled on this machine (no container runtime, no registry
 * but npm's): its Dockerfile is checked by reading it, against what the manifests expect of it.
 */
describe('the serving image (Dockerfile, read, not built)', () => {
  const text = readFileSync(path.join(REPO_ROOT, 'packages', 'target-kubernetes', 'Dockerfile'), 'utf8');
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  const of = (keyword: string): string[] =>
    instructions.filter((line) => line.startsWith(`${keyword} `)).map((line) => line.slice(keyword.length + 1).trim());

  it('runs on a maintained Node (24), the same base in both stages', () => {
    expect(of('FROM').map((line) => line.split(' ')[0])).toEqual(['node:24-bookworm-slim', 'node:24-bookworm-slim']);
  });

  it('runs as the non-root user the Deployment runs as', () => {
    expect(of('USER')).toEqual(['10001:10001']);
  });

  it("answers on the port and with the command the manifests use: ENTRYPOINT mldeploy, then the serving container's args", () => {
    expect(of('EXPOSE')).toEqual([String(SERVING_PORT)]);
    expect(JSON.parse(of('ENTRYPOINT')[0]!)).toEqual(['mldeploy']);
    expect(JSON.parse(of('CMD')[0]!)).toEqual(servingArgs(MODEL_DIR, undefined));
  });

  it('installs the packed workspaces it names, which exist, without the GPU download and without dev dependencies', () => {
    const packed = /npm pack --pack-destination \/out (.*)/
      .exec(text)![1]!
      .split(/\s+/)
      .filter((w) => w !== '-w');
    const workspaces = ['core', 'serving', 'target-local', 'mldeploy'].map(
      (dir) => (JSON.parse(readFileSync(path.join(REPO_ROOT, 'packages', dir, 'package.json'), 'utf8')) as { name: string }).name,
    );
    expect(packed).toEqual(workspaces);
    expect(text).toContain('ENV NODE_ENV=production ONNXRUNTIME_NODE_INSTALL=skip');
    expect(text).toContain('npm install --global --omit=dev');
  });
});
