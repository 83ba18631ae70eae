import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '@mldeploy/core';
import { runCli, type CliResult } from '../../../test/support/run-cli.js';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';
import { startMoto, type MotoServer } from '../../target-sagemaker/test/support/moto.js';
import { ROLE } from '../../target-sagemaker/test/support/sagemaker-harness.js';

const IRIS = path.join(FIXTURE_MODELS, 'onnx-iris');
const TARGET = 'sagemaker:/us-east-1';

/**
 * A target without a control plane (SageMaker, against moto): the CLI keeps its audit log, one
 * JSONL file per target URI in ~/.mldeploy/audit (HOME is a fresh folder here).
 */
describe('the CLI’s audit log of a target without a control plane (sagemaker against moto)', () => {
  let moto: MotoServer;
  const home = tempDir('audit-home');
  const cli = (...args: string[]): Promise<CliResult> => runCli(args, { env: { ...moto.env, HOME: home }, timeoutMs: 60_000 });
  const logFile = (): string => {
    const dir = path.join(home, '.mldeploy', 'audit');
    const [name, ...others] = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
    expect(others).toEqual([]);
    return path.join(dir, name!);
  };
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('records create, a failed create and delete with who, the state before and after and the result; verify and export read it', async () => {
    const created = await cli('create', '-t', TARGET, '--name', 'audited', '-m', IRIS, '-C', `execution_role_arn=${ROLE}`);
    expect(created.code, created.stderr).toBe(0);
    const again = await cli('create', '-t', TARGET, '--name', 'audited', '-m', IRIS, '-C', `execution_role_arn=${ROLE}`);
    expect(again.code).toBe(1);
    expect((await cli('delete', '-t', TARGET, '--name', 'audited')).code).toBe(0);

    const file = logFile();
    expect(path.basename(file)).toMatch(/^sagemaker_us-east-1-[0-9a-f]{12}\.jsonl$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const listed = await cli('audit', 'list', '-t', TARGET, '--json');
    expect(listed.code, listed.stderr).toBe(0);
    const [create, failed, deleted, ...rest] = JSON.parse(listed.stdout) as AuditRecord[];
    expect(rest).toEqual([]);
    const user = os.userInfo().username;
    expect(create).toMatchObject({ id: 1, actor: user, target: TARGET, action: 'create', subject: 'audited', before: null, result: 'ok' });
    // What the change set, without SageMaker's live figures (current_weight, current_instance_count).
    expect(create!.after).toMatchObject({ model_uri: IRIS, variants: [{ instance_type: expect.any(String) as string }] });
    expect(JSON.stringify(create!.after)).not.toContain('current_');
    expect(JSON.parse(create!.detail)).toMatchObject({ model_uri: IRIS, config: { execution_role_arn: ROLE } });
    expect(failed).toMatchObject({ id: 2, action: 'create', before: create!.after });
    expect(failed!.result).toMatch(/^error: RESOURCE_ALREADY_EXISTS /);
    expect(deleted).toMatchObject({ id: 3, action: 'delete', after: null, result: 'ok' });

    const verify = await cli('audit', 'verify', '-t', TARGET);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toBe(`Audit log intact: 3 entries, last hash ${deleted!.hash}\n`);
    const exported = await cli('audit', 'export', '-t', TARGET);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toBe(readFileSync(file, 'utf8'));
  });

  it('audit verify fails naming the entry edited in the file, then the one removed', async () => {
    const file = logFile();
    const original = readFileSync(file, 'utf8');
    const lines = original.trimEnd().split('\n');
    writeFileSync(file, `${[lines[0]!.replace('"actor":"', '"actor":"mallory-'), ...lines.slice(1)].join('\n')}\n`);
    const edited = await cli('audit', 'verify', '-t', TARGET);
    expect(edited.code).toBe(1);
    expect(edited.stderr).toContain(`error: INVALID_STATE: The audit log (${file}) is not intact: Entry 1 does not match its hash`);

    writeFileSync(file, `${[lines[0], lines[2]].join('\n')}\n`);
    const removed = await cli('audit', 'verify', '-t', TARGET, '--json');
    expect(removed.code).toBe(1);
    expect(JSON.parse(removed.stdout)).toMatchObject({ intact: false, entries: 2, problem: { id: 2, kind: 'removed' } });
    writeFileSync(file, original);
    expect((await cli('audit', 'verify', '-t', TARGET)).code).toBe(0);
  });
});
