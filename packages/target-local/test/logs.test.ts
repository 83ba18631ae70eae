import { spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DeploymentLogs } from '../src/server/deployment-logs.js';
import { MAX_MESSAGE_CHARS, recordWorkerLine } from '../src/server/log-record.js';
import { RotatingFile, tailLines } from '../src/server/rotating-file.js';
import { tempDir } from '../../../test/support/temp.js';
import { runCli } from '../../../test/support/run-cli.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { IRIS, localHome, predictVia } from './support.js';

/** Writes to /dev/full fail with ENOSPC: a real full disk, without filling one. */
const FULL_DISK = '/dev/full';

/** The descriptors this process holds now. */
function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** `count` numbered lines, `width` bytes each with the newline. */
function numbered(from: number, count: number, width = 100): string {
  return Array.from({ length: count }, (_, i) => `line ${String(from + i).padStart(8, '0')} `.padEnd(width - 1, 'x') + '\n').join('');
}

describe('a deployment log on a full disk', () => {
  it('drops records without throwing, reports the outage once, and resumes when writes succeed again', async () => {
    const dir = tempDir('full-disk');
    const reports: { message: string; recovered: boolean }[] = [];
    const logs = new DeploymentLogs(dir, 'info', { maxBytes: 1024, keep: 2 }, (message, recovered) => reports.push({ message, recovered }));
    symlinkSync(FULL_DISK, path.join(dir, 'iris.log'));
    const replica = logs.replica({ deployment: 'iris', revision: 1, replica: 0 });
    // Enough records to pass the rotation size many times: rotation must not fail either.
    for (let i = 0; i < 50; i += 1) expect(() => recordWorkerLine(replica, `lost ${i} ${'x'.repeat(100)}`, 'stdout')).not.toThrow();
    expect(reports).toEqual([
      {
        message: `${path.join(dir, 'iris.log')}: writing failed (ENOSPC: no space left on device, write); records are dropped until writes succeed again`,
        recovered: false,
      },
    ]);
    // Room again (here: the full "disk" is moved away): the next record is written, and says so.
    rmSync(path.join(dir, 'iris.log'));
    replica.info({ event: 'ready' }, 'serving again');
    expect(reports[1]).toEqual({
      message: `${path.join(dir, 'iris.log')}: writing works again; 50 record(s) were dropped meanwhile`,
      recovered: true,
    });
    expect((await logs.tail('iris', 10)).map((r) => r.message)).toEqual(['serving again']);
    logs.closeAll();
  });

  it("the control plane's own log on a full disk (stdout to /dev/full) does not end the process, and says so once on stderr", async () => {
    const logger = fileURLToPath(new URL('../dist/server/logger.js', import.meta.url));
    const script = `
      const { createLogger } = await import(${JSON.stringify(logger)});
      const log = createLogger(process.stdout, { component: 'control-plane' });
      for (let i = 0; i < 20; i += 1) log.info('record ' + i);
      await new Promise((resolve) => setImmediate(resolve));
      log.error('still here');
      await new Promise((resolve) => setImmediate(resolve));
    `;
    const full = openSync(FULL_DISK, 'a');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', full, 'pipe'] });
    closeSync(full);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code, stderr).toBe(0);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'error',
      component: 'control-plane',
      event: 'log-write-failed',
      message:
        "the control plane's log (stdout): writing failed (ENOSPC: no space left on device, write); records are dropped until writes succeed again",
    });
  });
});

describe('a control plane on a full disk', () => {
  /** A home whose `logs/<name>` are already /dev/full when the control plane starts. */
  function fullHome(label: string, ...full: string[]): ReturnType<typeof localHome> {
    const local = localHome(label);
    mkdirSync(path.join(local.home, 'logs'), { recursive: true, mode: 0o700 });
    for (const name of full) symlinkSync(FULL_DISK, path.join(local.home, 'logs', name));
    return local;
  }

  it('keeps serving and managing deployments when its own log and a deployment log cannot be written', async () => {
    const local = fullHome('full-server-log', 'server.log', 'iris.log');
    try {
      expect((await local.cli('create', '--name', 'iris', '-m', IRIS)).code).toBe(0);
      expect((await predictVia(`${local.gateway()}/deployments/iris/invocations`)).status).toBe(200);
      expect((await local.cli('update', '--name', 'iris', '-C', 'timeout=30')).code).toBe(0);
      expect((await local.cli('logs', '--name', 'iris')).code).toBe(0);
      expect((await local.cli('delete', '--name', 'iris')).code).toBe(0);
      const status = await runCli(['server', 'status', '--home', local.home, '--json']);
      expect(JSON.parse(status.stdout), status.stderr).toMatchObject({ running: true });
    } finally {
      await local.stop();
    }
  }, 120_000);

  it("reports a deployment log's outage once in its own log, and the deployment's log resumes when there is room", async () => {
    const local = fullHome('full-deployment-log', 'iris.log');
    const serverLog = (): { event?: string; level: string; message: string }[] =>
      readFileSync(path.join(local.home, 'logs', 'server.log'), 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { event?: string; level: string; message: string });
    try {
      expect((await local.cli('create', '--name', 'iris', '-m', IRIS)).code).toBe(0);
      expect((await local.cli('update', '--name', 'iris', '-C', 'timeout=30')).code).toBe(0);
      const failures = serverLog().filter((r) => r.event === 'log-write-failed');
      expect(failures).toEqual([
        expect.objectContaining({
          level: 'error',
          message: expect.stringMatching(
            /iris\.log: writing failed \(ENOSPC: no space left on device, write\); records are dropped/,
          ) as string,
        }),
      ]);
      rmSync(path.join(local.home, 'logs', 'iris.log'));
      expect((await local.cli('update', '--name', 'iris', '-C', 'timeout=40')).code).toBe(0);
      await waitFor('the recovery in server.log', () =>
        serverLog().find(
          (r) => r.event === 'log-write-recovered' && /iris\.log: writing works again; \d+ record\(s\) were dropped/.test(r.message),
        ),
      );
      const entries = await local.json<{ revision: number; event: string }[]>('logs', '--name', 'iris');
      expect(entries.find((e) => e.event === 'ready')).toMatchObject({ revision: 3 });
      expect(serverLog().filter((r) => r.event === 'log-write-failed')).toHaveLength(1);
    } finally {
      await local.stop();
    }
  }, 120_000);
});

describe('mldeploy logs reads from the end of the log', () => {
  it('returns the last records of a multi-MB log, across a rotation boundary', async () => {
    const file = path.join(tempDir('tail-big'), 'big.log');
    const log = new RotatingFile(file, { maxBytes: 4_000_000, keep: 2 });
    // 100 bytes a line, 40,000 a file: 100,000 lines fill big.log.2, big.log.1 and half of big.log.
    for (let i = 0; i < 100_000; i += 1000) log.write(numbered(i, 1000));
    log.close();
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(20_000);
    const tail = await tailLines(file, 25_000, 2);
    expect(tail).toHaveLength(25_000);
    expect(tail.join('\n') + '\n').toBe(numbered(75_000, 25_000));
    expect(await tailLines(file, 3, 2)).toEqual(numbered(99_997, 3).trimEnd().split('\n'));
    // More than there is: everything kept, oldest first.
    expect((await tailLines(file, 200_000, 2)).join('\n') + '\n').toBe(numbered(0, 100_000));
  });

  it('never reads the whole file: the last records of a 3 GiB log come back (a whole-file read would refuse it)', async () => {
    const file = path.join(tempDir('tail-huge'), 'huge.log');
    // Sparse: 3 GiB without using the disk; no Buffer can hold it whole.
    writeFileSync(file, '');
    truncateSync(file, 3 * 1024 ** 3);
    appendFileSync(file, `\n${numbered(0, 5)}`);
    await expect(readFile(file)).rejects.toThrow(/File size .* is greater than 2 GiB/);
    expect(await tailLines(file, 5, 0)).toEqual(numbered(0, 5).trimEnd().split('\n'));
  });

  it('keeps multi-byte characters whole where chunks split them, and skips an overlong line that is not a record', async () => {
    const file = path.join(tempDir('tail-utf8'), 'utf8.log');
    const lines = Array.from({ length: 20_000 }, (_, i) => `${i} é ☃ 😀 ${'ü'.repeat(i % 50)}`);
    writeFileSync(file, `first\n${'x'.repeat(3 * 1024 * 1024)}\n${lines.join('\n')}\n`);
    expect(await tailLines(file, 20_000, 0)).toEqual(lines);
    expect(await tailLines(file, 20_002, 0)).toEqual(['first', ...lines]);
  });

  it('a worker line longer than a record may be is cut, so one record cannot outgrow the rotation', async () => {
    const dir = tempDir('long-line');
    const logs = new DeploymentLogs(dir);
    recordWorkerLine(logs.replica({ deployment: 'iris', revision: 1, replica: 0 }), 'y'.repeat(10 * MAX_MESSAGE_CHARS), 'stderr');
    const [record] = await logs.tail('iris', 1);
    expect(record!.message).toBe(`${'y'.repeat(MAX_MESSAGE_CHARS)}… (${9 * MAX_MESSAGE_CHARS} more characters cut)`);
    logs.closeAll();
  });
});

describe('a deleted deployment leaves no log behind', () => {
  it('remove closes its file and deletes it with every rotation; late records of its workers are dropped', async () => {
    const dir = tempDir('remove-logs');
    const logs = new DeploymentLogs(dir, 'info', { maxBytes: 2048, keep: 2 });
    const before = openFds();
    const gone = logs.replica({ deployment: 'gone', revision: 1, replica: 0 });
    const kept = logs.replica({ deployment: 'kept', revision: 1, replica: 0 });
    for (let i = 0; i < 40; i += 1) gone.info({ event: 'stdout' }, `record ${i} ${'z'.repeat(200)}`);
    kept.info({ event: 'ready' }, 'serving');
    // Left by an earlier run with a larger `keep`: removed as well.
    writeFileSync(path.join(dir, 'gone.log.7'), 'old\n');
    expect(readdirSync(dir).sort()).toEqual(['gone.log', 'gone.log.1', 'gone.log.2', 'gone.log.7', 'kept.log']);
    expect(openFds()).toBe(before + 2);
    await logs.remove('gone');
    expect(openFds()).toBe(before + 1);
    gone.info({ event: 'stopping' }, 'a record after the delete');
    expect(readdirSync(dir).sort()).toEqual(['kept.log']);
    expect(await logs.tail('gone', 10)).toEqual([]);
    // The same name again starts an empty log.
    logs.replica({ deployment: 'gone', revision: 1, replica: 0 }).info({ event: 'ready' }, 'new');
    expect((await logs.tail('gone', 10)).map((r) => r.message)).toEqual(['new']);
    logs.closeAll();
    expect(openFds()).toBe(before);
  });

  it('close (a create that failed) keeps the file and holds no descriptor, even for late records', async () => {
    const dir = tempDir('close-logs');
    const logs = new DeploymentLogs(dir);
    const before = openFds();
    const failed = logs.replica({ deployment: 'failed', revision: 1, replica: 0 });
    failed.error({ event: 'failed' }, 'model broke');
    logs.close('failed');
    failed.warn({ event: 'stderr' }, 'Traceback (most recent call last):');
    expect(openFds()).toBe(before);
    expect(existsSync(path.join(dir, 'failed.log'))).toBe(true);
    expect((await logs.tail('failed', 10)).map((r) => r.message)).toEqual(['model broke', 'Traceback (most recent call last):']);
  });
});
