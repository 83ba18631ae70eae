import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BaseDeploymentClient,
  MASK,
  MlDeployError,
  PredictionsResponse,
  type AuditRecord,
  type CreateDeploymentOptions,
  type Deployment,
  type UpdateDeploymentOptions,
} from '@mldeploy/core';
import { auditDirOf, auditFileOf } from '../src/audit/audit-file.js';
import { AuditJournal } from '../src/audit/audit-journal.js';
import { auditedClient } from '../src/audit/audited-client.js';
import { tempDir } from '../../../test/support/temp.js';

/** A target kept in memory, with no audit log of its own. */
class MemoryClient extends BaseDeploymentClient {
  readonly deployments = new Map<string, Deployment>();
  calls = 0;

  createDeployment(name: string, modelUri: string, options: CreateDeploymentOptions = {}): Promise<Deployment> {
    this.calls += 1;
    if (this.deployments.has(name)) return Promise.reject(new MlDeployError('RESOURCE_ALREADY_EXISTS', `"${name}" exists`));
    const deployment = { name, flavor: options.flavor ?? 'onnx', model_uri: modelUri, config: options.config ?? {}, state: 'ready' };
    this.deployments.set(name, deployment);
    return Promise.resolve(deployment);
  }

  async updateDeployment(name: string, options: UpdateDeploymentOptions = {}): Promise<Deployment> {
    this.calls += 1;
    const current = await this.getDeployment(name);
    const next = { ...current, config: { ...(current['config'] as object), ...options.config } };
    this.deployments.set(name, next);
    return next;
  }

  deleteDeployment(name: string): Promise<void> {
    this.calls += 1;
    this.deployments.delete(name);
    return Promise.resolve();
  }

  listDeployments(): Promise<Deployment[]> {
    return Promise.resolve([...this.deployments.values()]);
  }

  getDeployment(name: string): Promise<Deployment> {
    const found = this.deployments.get(name);
    return found === undefined
      ? Promise.reject(new MlDeployError('RESOURCE_DOES_NOT_EXIST', `No deployment "${name}"`))
      : Promise.resolve(found);
  }

  predict(): Promise<PredictionsResponse> {
    return Promise.resolve(PredictionsResponse.fromJSON('{"predictions": []}'));
  }
}

function setUp(label: string): { memory: MemoryClient; client: BaseDeploymentClient; journal: AuditJournal } {
  const memory = new MemoryClient('memory:/test');
  const journal = new AuditJournal(auditFileOf(tempDir(`audit-${label}`), memory.targetUri));
  return { memory, client: auditedClient(memory, journal, 'alice'), journal };
}

const lines = (journal: AuditJournal): string[] => readFileSync(journal.file, 'utf8').trimEnd().split('\n');
const records = (journal: AuditJournal): AuditRecord[] => lines(journal).map((line) => JSON.parse(line) as AuditRecord);

describe('the client-side audit log file', () => {
  it('is named after the target URI, inside ~/.mldeploy/audit whatever the URI holds', () => {
    const home = '/home/alice';
    const dir = auditDirOf(home);
    expect(dir).toBe('/home/alice/.mldeploy/audit');
    expect(auditFileOf(home, 'sagemaker:/us-east-1')).toMatch(
      /^\/home\/alice\/\.mldeploy\/audit\/sagemaker_us-east-1-[0-9a-f]{12}\.jsonl$/,
    );
    for (const uri of ['x:/../../../etc/passwd', '..', 'x:/a/../../b', `k:/${'a'.repeat(500)}`, 'x:/\u0000/é']) {
      const file = auditFileOf(home, uri);
      expect(path.dirname(file), uri).toBe(dir);
      expect(path.basename(file).length, uri).toBeLessThan(100);
      expect(path.basename(file), uri).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*\.jsonl$/);
    }
    expect(auditFileOf(home, 'x:/a b')).not.toBe(auditFileOf(home, 'x:/a_b'));
  });
});

describe('auditedClient: every change of a target without a control plane, in the CLI’s log', () => {
  it('records who, the target, the operation, the state before and after and the result; reads are not recorded', async () => {
    const { memory, client, journal } = setUp('changes');
    await client.createDeployment('iris', 'models:/iris/1', { config: { replicas: '1', token: 's3cret' } });
    await client.updateDeployment('iris', { config: { replicas: '2' } });
    await expect(client.createDeployment('iris', 'models:/iris/2')).rejects.toMatchObject({ code: 'RESOURCE_ALREADY_EXISTS' });
    await client.getDeployment('iris');
    await client.listDeployments();
    await client.deleteDeployment('iris');
    expect(memory.deployments.size).toBe(0);

    const [create, update, failed, deleted, ...rest] = records(journal);
    expect(rest).toEqual([]);
    expect(create).toMatchObject({
      id: 1,
      actor: 'alice',
      target: 'memory:/test',
      action: 'create',
      subject: 'iris',
      before: null,
      after: { model_uri: 'models:/iris/1', flavor: 'onnx', config: { replicas: '1', token: MASK } },
      result: 'ok',
    });
    expect(JSON.parse(create!.detail)).toEqual({ model_uri: 'models:/iris/1', config: { replicas: '1', token: MASK } });
    expect(update).toMatchObject({ id: 2, action: 'update', before: create!.after, after: { config: { replicas: '2' } }, result: 'ok' });
    expect(failed).toMatchObject({ id: 3, action: 'create', before: update!.after, after: update!.after });
    expect(failed!.result).toBe('error: RESOURCE_ALREADY_EXISTS "iris" exists');
    expect(deleted).toMatchObject({ id: 4, action: 'delete', before: update!.after, after: null, result: 'ok' });
    expect(readFileSync(journal.file, 'utf8')).not.toContain('s3cret');
    expect(await journal.verify()).toEqual({ intact: true, entries: 4, last_id: 4, last_hash: deleted!.hash });
    expect(statSync(journal.file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(journal.file)).mode & 0o777).toBe(0o700);
    expect((await journal.list('iris', 2)).map((e) => e.id)).toEqual([3, 4]);
  });

  it('appends that overlap (a lock file makes them take turns) stay one chain', async () => {
    const { journal } = setUp('overlap');
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        journal.append({
          actor: 'alice',
          target: 't',
          action: 'update',
          subject: `d${i}`,
          detail: '',
          before: null,
          after: null,
          result: 'ok',
        }),
      ),
    );
    expect(await journal.verify()).toMatchObject({ intact: true, entries: 20 });
  });

  it.each([
    ['an edited line', (l: string[]) => [l[0], l[1]!.replace('"update"', '"delete"'), l[2]], { id: 2, kind: 'edited' }],
    ['a removed line', (l: string[]) => [l[0], l[2]], { id: 2, kind: 'removed' }],
    ['two lines swapped', (l: string[]) => [l[0], l[2], l[1]], { id: 2, kind: 'reordered' }],
    ['a line that is not JSON', (l: string[]) => [l[0], '{"id": 2,', l[2]], { id: 2, kind: 'malformed' }],
  ])('%s is found and named by its id', async (_what, edit, problem) => {
    const { client, journal } = setUp('tamper');
    await client.createDeployment('iris', 'models:/iris/1');
    await client.updateDeployment('iris', { config: { replicas: '2' } });
    await client.deleteDeployment('iris');
    writeFileSync(journal.file, `${edit(lines(journal)).join('\n')}\n`);
    expect(await journal.verify()).toMatchObject({ intact: false, problem });
  });

  it('a log whose last line was cut short stops the next change before it is made', async () => {
    const { memory, client, journal } = setUp('torn');
    await client.createDeployment('iris', 'models:/iris/1');
    writeFileSync(journal.file, readFileSync(journal.file, 'utf8').slice(0, -20));
    const calls = memory.calls;
    await expect(client.deleteDeployment('iris')).rejects.toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringContaining('its last line is cut short') as string,
    });
    expect(memory.calls).toBe(calls);
    expect(memory.deployments.has('iris')).toBe(true);
  });
});
