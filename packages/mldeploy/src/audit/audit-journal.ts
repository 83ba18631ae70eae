import { createReadStream } from 'node:fs';
import { chmod, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import {
  AuditChainVerifier,
  GENESIS_HASH,
  MlDeployError,
  auditRecordSchema,
  sealAuditRecord,
  type AuditFields,
  type AuditRecord,
  type AuditVerification,
} from '@mldeploy/core';
import { withFileLock } from './file-lock.js';

/** What a recorder gives; the journal adds the id, the time and the hashes. */
export type AuditEventFields = Omit<AuditFields, 'id' | 'at'>;

/** A stored line: the entry it holds, or why it holds none. */
export type JournalLine = { readonly line: number; readonly entry: AuditRecord } | { readonly line: number; readonly problem: string };

/** How much of a file's end is read at a time to find its last line. */
const TAIL_CHUNK = 64 * 1024;

/** Parses one stored line. */
function parseLine(text: string, line: number): JournalLine {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { line, problem: `Line ${line} is not JSON` };
  }
  const parsed = auditRecordSchema.safeParse(json);
  if (!parsed.success) {
    return { line, problem: `Line ${line} lacks ${parsed.error.issues.map((i) => i.path.join('.') || 'its fields').join(', ')}` };
  }
  return { line, entry: parsed.data };
}

/**
 * A client-side audit log: one JSONL file per target (for targets without a control plane of
 * their own), each line an entry hash-chained to the one before, as the local target's control
 * plane keeps its log. The file is 0600 in a 0700 folder; appends take turns through a lock
 * file, and each is synced to disk before the command reports success.
 */
export class AuditJournal {
  constructor(readonly file: string) {}

  /**
   * The last entry (undefined for an empty or missing log), read from the end of the file.
   *
   * @throws MlDeployError `INVALID_STATE` when the last line is cut short or not an entry: no
   * entry can be chained after it.
   */
  async last(): Promise<AuditRecord | undefined> {
    const last = await this.lastLine();
    if (last === undefined) return undefined;
    const parsed = parseLine(last.text, 0);
    if (last.complete && 'entry' in parsed) return parsed.entry;
    throw this.damaged(last.complete ? 'its last line is not an audit entry' : 'its last line is cut short (a write was interrupted)');
  }

  /** Checks that an entry can be appended (the folder can be made, the last line is whole), before a change is made. */
  async check(): Promise<void> {
    await this.makeFolder();
    await this.last();
  }

  /** Appends an entry chained to the last one, and syncs it to disk. */
  async append(event: AuditEventFields): Promise<AuditRecord> {
    await this.makeFolder();
    return withFileLock(this.file, async () => {
      const last = await this.last();
      const record = sealAuditRecord(last?.hash ?? GENESIS_HASH, { ...event, id: (last?.id ?? 0) + 1, at: new Date().toISOString() });
      const handle = await open(this.file, 'a', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(record)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return record;
    });
  }

  /** Every stored line, in order: its entry, or why it holds none. Blank lines are skipped; a missing file has none. */
  async *lines(): AsyncGenerator<JournalLine> {
    const stream = createReadStream(this.file, { encoding: 'utf8' });
    const opened = new Promise<boolean>((resolve, reject) => {
      stream.once('open', () => resolve(true));
      stream.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? resolve(false) : reject(error)));
    });
    if (!(await opened)) return;
    let number = 0;
    for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
      number += 1;
      if (text.trim() !== '') yield parseLine(text, number);
    }
  }

  /** Walks the whole chain: intact, or its first edited, removed, re-ordered or unreadable entry. */
  async verify(): Promise<AuditVerification> {
    const verifier = new AuditChainVerifier();
    for await (const line of this.lines()) {
      if ('entry' in line) verifier.add(line.entry);
      else verifier.malformed(line.problem);
    }
    return verifier.result();
  }

  /** The last `limit` entries, oldest first; of one subject when given. */
  async list(subject: string | undefined, limit: number): Promise<AuditRecord[]> {
    const kept: AuditRecord[] = [];
    for await (const line of this.lines()) {
      if (!('entry' in line) || (subject !== undefined && line.entry.subject !== subject)) continue;
      kept.push(line.entry);
      if (kept.length > limit) kept.shift();
    }
    return kept;
  }

  private async makeFolder(): Promise<void> {
    const dir = path.dirname(this.file);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }

  /** The file's last line and whether a newline ends it; undefined when the file is missing or empty. */
  private async lastLine(): Promise<{ text: string; complete: boolean } | undefined> {
    let handle;
    try {
      handle = await open(this.file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const { size } = await handle.stat();
      let tail = Buffer.alloc(0);
      let position = size;
      // Back from the end, a chunk at a time, until the newline before the last line is found.
      while (position > 0) {
        const length = Math.min(TAIL_CHUNK, position);
        position -= length;
        const chunk = Buffer.alloc(length);
        await handle.read(chunk, 0, length, position);
        tail = Buffer.concat([chunk, tail]);
        const complete = tail.at(-1) === 0x0a;
        const body = complete ? tail.subarray(0, -1) : tail;
        const start = body.lastIndexOf(0x0a);
        if (start >= 0 || position === 0) return { text: body.subarray(start + 1).toString('utf8'), complete };
      }
      return undefined;
    } finally {
      await handle.close();
    }
  }

  private damaged(why: string): MlDeployError {
    return new MlDeployError('INVALID_STATE', `The audit log ${this.file} cannot be appended to: ${why}`, {
      hint: `Run 'mldeploy audit verify' for where it is damaged; keep a copy, then repair or move the file.`,
    });
  }
}
