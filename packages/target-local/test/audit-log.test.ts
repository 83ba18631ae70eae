import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH, auditRecordSchema, type AuditRecord, type AuditVerification } from '@mldeploy/core';
import { runCli, type CliResult } from '../../../test/support/run-cli.js';
import { tempDir } from '../../../test/support/temp.js';
import { withDatabase } from './state-db.js';
import { IRIS, apiToken, fetchWithToken, localHome } from './support.js';

/** Runs one SQL statement on the home's state.db, with the control plane stopped, as someone with the file would. */
function tamper(home: string, sql: string, ...params: (string | number)[]): void {
  withDatabase(path.join(home, 'state.db'), (db) => db.prepare(sql).run(...params));
}

/** A port some other program holds. */
async function heldPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('the local target audit log (control plane, API, CLI)', () => {
  const local = localHome('audit');
  const user = os.userInfo().username;
  const audit = (...args: string[]): Promise<CliResult> => runCli(['audit', ...args, '-t', local.target], { timeoutMs: 120_000 });
  const entries = async (): Promise<AuditRecord[]> => {
    const result = await audit('list', '--limit', '100', '--json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as AuditRecord[];
  };
  afterAll(async () => {
    await local.stop();
  });

  it('records who, when, the target, the operation, the state before and after and the result of every change, failures included', async () => {
    expect((await local.cli('create', '--name', 'iris', '-m', IRIS)).code).toBe(0);
    expect((await local.cli('update', '--name', 'iris', '-C', 'timeout=30')).code).toBe(0);
    const { port, server } = await heldPort();
    try {
      const failed = await local.cli('update', '--name', 'iris', '-C', `port=${port}`);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('RESOURCE_CONFLICT');
    } finally {
      server.close();
    }
    expect((await local.cli('create-endpoint', '--endpoint', 'front', '-C', 'traffic={"iris": 100}')).code).toBe(0);

    const [create, update, failure, endpoint, ...rest] = await entries();
    expect(rest).toEqual([]);
    for (const entry of [create, update, failure, endpoint]) {
      expect(entry).toMatchObject({ actor: user, target: `local:${local.home}` });
      expect(Date.now() - Date.parse(entry!.at)).toBeLessThan(10 * 60_000);
    }
    expect(create).toMatchObject({
      id: 1,
      action: 'create',
      subject: 'iris',
      result: 'ok',
      before: null,
      after: { revision: 1, model_uri: IRIS, flavor: 'onnx', config: { replicas: 1, timeout: 60 } },
      prev_hash: GENESIS_HASH,
    });
    expect(update).toMatchObject({
      id: 2,
      action: 'update',
      result: 'ok',
      before: create!.after,
      after: { revision: 2, config: { timeout: 30 } },
      prev_hash: create!.hash,
    });
    expect(failure).toMatchObject({ id: 3, action: 'update', subject: 'iris', before: update!.after, after: update!.after });
    expect(failure!.result).toMatch(new RegExp(`^error: RESOURCE_CONFLICT Port ${port} on 127.0.0.1 is in use`));
    expect(JSON.parse(failure!.detail)).toMatchObject({ config: { port: String(port) } });
    expect(endpoint).toMatchObject({
      id: 4,
      action: 'create-endpoint',
      subject: 'front',
      before: null,
      after: { traffic: { iris: 100 }, sticky_header: null, shadow: null },
      result: 'ok',
    });

    // Called with the token and no actor: the token's name, never the token.
    const token = apiToken(local.home);
    const patched = await fetchWithToken(local.home, `${local.gateway()}/api/v1/endpoints/front`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ config: { sticky_header: 'x-user' } }),
    });
    expect(patched.status).toBe(200);
    const byToken = (await entries()).at(-1)!;
    expect(byToken).toMatchObject({
      id: 5,
      action: 'update-endpoint',
      actor: `token:${createHash('sha256').update(token).digest('hex').slice(0, 8)}`,
      before: endpoint!.after,
      after: { sticky_header: 'x-user' },
    });

    const byName = JSON.parse((await audit('list', '--subject', 'front', '--limit', '1', '--json')).stdout) as AuditRecord[];
    expect(byName.map((e) => e.id)).toEqual([5]);
    const table = await audit('list');
    expect(table.stdout).toMatch(/^ID +AT +ACTOR +ACTION +SUBJECT +RESULT\n/);
    expect(table.stdout).toContain('error: RESOURCE_CONFLICT');
  });

  it('audit verify finds the chain intact; audit export writes it as JSONL, as the API has it, without the token', async () => {
    const verify = await audit('verify');
    expect(verify.code, verify.stderr).toBe(0);
    const all = await entries();
    expect(verify.stdout).toBe(`Audit log intact: ${all.length} entries, last hash ${all.at(-1)!.hash}\n`);
    const exported = await audit('export');
    expect(exported.code, exported.stderr).toBe(0);
    const lines = exported.stdout.trimEnd().split('\n');
    const parsed = lines.map((line) => auditRecordSchema.parse(JSON.parse(line)));
    const api = (await (await fetchWithToken(local.home, `${local.gateway()}/api/v1/audit/export`)).json()) as { entries: unknown[] };
    expect(parsed).toEqual(api.entries);
    expect(parsed.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(exported.stdout).not.toContain(apiToken(local.home));
    const file = path.join(tempDir('audit-export'), 'audit.jsonl');
    const written = await audit('export', '-o', file);
    expect(written.code, written.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(exported.stdout);
    const viaApi = (await (await fetchWithToken(local.home, `${local.gateway()}/api/v1/audit/verify`)).json()) as AuditVerification;
    expect(viaApi).toEqual({ intact: true, entries: all.length, last_id: all.length, last_hash: all.at(-1)!.hash });
  });

  it('an entry edited in state.db, then one deleted, makes audit verify fail naming its id', async () => {
    const [, second] = await entries();
    await local.stop();
    tamper(local.home, 'UPDATE audit SET detail = ? WHERE id = 2', 'revision 2: nothing to see');
    const edited = await audit('verify');
    expect(edited.code).toBe(1);
    expect(edited.stderr).toMatch(
      /error: INVALID_STATE: The audit log \(the control plane of local:.*\) is not intact: Entry 2 does not match its hash/,
    );
    const json = await audit('verify', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ intact: false, problem: { id: 2, kind: 'edited' } });
    expect(JSON.parse(json.stderr.trim().split('\n').at(-1)!)).toMatchObject({ error_code: 'INVALID_STATE', id: 2, kind: 'edited' });

    await local.stop();
    tamper(local.home, 'UPDATE audit SET detail = ? WHERE id = 2', second!.detail);
    tamper(local.home, 'DELETE FROM audit WHERE id = 3');
    const removed = await audit('verify');
    expect(removed.code).toBe(1);
    expect(removed.stderr).toContain('Entry 3 is missing');
    // The stops were recorded too, by the user who asked.
    expect((await entries()).filter((e) => e.action === 'shutdown').map((e) => e.actor)).toEqual([user, user]);
  });
});
