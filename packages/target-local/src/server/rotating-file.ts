import { closeSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { MlDeployError } from '@mldeploy/core';

/** Size limits of a {@link RotatingFile}. */
export interface RotationLimits {
  /** Bytes a file may reach before it is rotated. */
  readonly maxBytes: number;
  /** Rotated files kept beside the current one (`name.1` is the newest). */
  readonly keep: number;
}

/** 10 MiB per file, three rotated files: at most 40 MiB of log per deployment. */
export const DEFAULT_ROTATION: RotationLimits = { maxBytes: 10 * 1024 * 1024, keep: 3 };

/** The environment variable that sets the size at which a deployment's log file is rotated. */
const LOG_MAX_BYTES_ENV = 'MLDEPLOY_LOG_MAX_BYTES';

/**
 * Rotation limits with `MLDEPLOY_LOG_MAX_BYTES` applied.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` when it is set to anything but a byte count of
 * at least 1024.
 */
export function logRotationFrom(env: Readonly<Record<string, string | undefined>>): RotationLimits {
  const raw = env[LOG_MAX_BYTES_ENV];
  if (raw === undefined || raw === '') return DEFAULT_ROTATION;
  const maxBytes = Number(raw);
  if (!Number.isInteger(maxBytes) || maxBytes < 1024) {
    throw new MlDeployError(
      'INVALID_PARAMETER_VALUE',
      `${LOG_MAX_BYTES_ENV} must be a number of bytes, at least 1024; got ${JSON.stringify(raw)}`,
      { hint: `Unset it for the default (${DEFAULT_ROTATION.maxBytes}).` },
    );
  }
  return { ...DEFAULT_ROTATION, maxBytes };
}

/**
 * An append-only log file rotated by size: when a write would take it past `maxBytes`, `name` is
 * renamed `name.1` (and `name.1` `name.2`, …, the oldest dropped) and a new `name` is started.
 * So the file and its rotations hold at most `(keep + 1) × maxBytes`, or one record more per file
 * when a single record is larger than `maxBytes`. A pino destination.
 *
 * Writes are synchronous: log lines are few and small, and a control plane killed with SIGKILL
 * must not lose the lines that say why a worker died. A write that fails (a full disk) throws
 * and closes the file, so that the next write opens it again and logging resumes once there is
 * room (or once the file was moved away).
 */
export class RotatingFile {
  private fd: number | undefined;
  private size = 0;
  /** `closed`: each write opens, appends and closes; `disposed`: writes are dropped. */
  private state: 'open' | 'closed' | 'disposed' = 'open';
  /** A write failed half way: the next one starts on a new line, so that only the cut record is lost. */
  private cut = false;

  /** No I/O: the file is opened by the first write. */
  constructor(
    readonly file: string,
    private readonly limits: RotationLimits = DEFAULT_ROTATION,
  ) {}

  /** Appends `line` (pino hands over whole lines), rotating first when it would not fit. */
  write(line: string): void {
    if (this.state === 'disposed') return;
    const bytes = Buffer.from(this.cut ? `\n${line}` : line);
    try {
      if (this.fd === undefined) this.open();
      if (this.size > 0 && this.size + bytes.length > this.limits.maxBytes) this.rotate();
      for (let done = 0; done < bytes.length;) {
        const written = writeSync(this.fd!, bytes, done);
        done += written;
        this.size += written;
        this.cut = done < bytes.length;
      }
    } catch (error) {
      this.closeFd();
      throw error;
    }
    if (this.state === 'closed') this.closeFd();
  }

  /**
   * Closes the file. A later write (a record from a worker still stopping) still lands in it, but
   * opens and closes it again, so a closed file never holds a descriptor.
   */
  close(): void {
    if (this.state === 'open') this.state = 'closed';
    this.closeFd();
  }

  /** Closes the file for good: later writes are dropped (its deployment is gone). */
  dispose(): void {
    this.state = 'disposed';
    this.closeFd();
  }

  private closeFd(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  private open(): void {
    this.fd = openSync(this.file, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.closeFd();
    shiftRotations(this.file, this.limits.keep);
    // keep 0: the current file is simply started again.
    this.fd = openSync(this.file, this.limits.keep > 0 ? 'a' : 'w', 0o600);
    this.size = 0;
  }
}

/**
 * Renames `file` to `file.1` (and `file.1` to `file.2`, …, up to `keep`; the oldest is
 * overwritten). For a log that another process writes: rotated once, before that process opens it.
 */
export function shiftRotations(file: string, keep: number): void {
  for (let i = keep - 1; i >= 1; i -= 1) renameIfThere(`${file}.${i}`, `${file}.${i + 1}`);
  if (keep > 0) renameIfThere(file, `${file}.1`);
}

function renameIfThere(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Bytes read at a time when a log is read backwards. */
const TAIL_CHUNK_BYTES = 64 * 1024;

/**
 * Longer "lines" are not records (a record's message is cut well below this): a tail skips them
 * rather than hold them, so that reading garbage costs no more memory than reading records.
 */
const MAX_LINE_BYTES = 1024 * 1024;

/**
 * The last `count` lines of a rotated log, oldest first: from `file`, then as far back through
 * `file.1`, `file.2`, … as it takes. Each file is read backwards in chunks, from its end until
 * enough lines are found, so memory and time depend on `count`, not on the size of the log.
 */
export async function tailLines(file: string, count: number, keep = DEFAULT_ROTATION.keep): Promise<string[]> {
  const newestFirst: string[] = [];
  // A rotation while reading renames the file just read to `file.1`: it is recognised by its
  // inode and skipped, so that no line is read twice.
  const seen = new Set<number>();
  for (let i = 0; i <= keep && newestFirst.length < count; i += 1) {
    const handle = await open(i === 0 ? file : `${file}.${i}`, 'r').catch(() => undefined);
    if (handle === undefined) continue;
    try {
      const { ino, size } = await handle.stat();
      if (seen.has(ino)) continue;
      seen.add(ino);
      await readBackwards(handle, size, count, newestFirst);
    } finally {
      await handle.close();
    }
  }
  return newestFirst.reverse();
}

/** Adds the lines of `handle` to `lines`, newest first, until there are `count`. */
async function readBackwards(handle: FileHandle, size: number, count: number, lines: string[]): Promise<void> {
  const chunk = Buffer.allocUnsafe(Math.min(TAIL_CHUNK_BYTES, size));
  const add = (bytes: Buffer): void => {
    const line = bytes.toString('utf8');
    if (line !== '') lines.push(line);
  };
  // The end of a line whose start is in an earlier chunk; `skipping` while an overlong one passes.
  let rest = Buffer.alloc(0);
  let skipping = false;
  for (let position = size; position > 0 && lines.length < count;) {
    const length = Math.min(chunk.length, position);
    position -= length;
    const { bytesRead } = await handle.read(chunk, 0, length, position);
    const data = Buffer.concat([chunk.subarray(0, bytesRead), rest]);
    let end = data.length;
    for (let newline = data.lastIndexOf(0x0a, end - 1); newline >= 0 && lines.length < count;) {
      if (skipping) skipping = false;
      else add(data.subarray(newline + 1, end));
      end = newline;
      newline = end === 0 ? -1 : data.lastIndexOf(0x0a, end - 1);
    }
    rest = data.subarray(0, end);
    if (rest.length > MAX_LINE_BYTES) {
      rest = Buffer.alloc(0);
      skipping = true;
    }
    if (position === 0 && !skipping && lines.length < count) add(rest);
  }
}
