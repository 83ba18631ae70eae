import { closeSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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
 * A pino destination.
 *
 * Writes are synchronous: log lines are few and small, and a control plane killed with SIGKILL
 * must not lose the lines that say why a worker died.
 */
export class RotatingFile {
  private fd: number | undefined;
  private size = 0;

  /** No I/O: the file is opened by the first write. */
  constructor(
    readonly file: string,
    private readonly limits: RotationLimits = DEFAULT_ROTATION,
  ) {}

  /** Appends `line` (pino hands over whole lines), rotating first when it would not fit. */
  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.fd === undefined) this.open();
    if (this.size > 0 && this.size + bytes > this.limits.maxBytes) this.rotate();
    writeSync(this.fd!, line);
    this.size += bytes;
  }

  /** Closes the file; a later write opens it again. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private open(): void {
    this.fd = openSync(this.file, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.close();
    for (let i = this.limits.keep - 1; i >= 1; i -= 1) renameIfThere(`${this.file}.${i}`, `${this.file}.${i + 1}`);
    if (this.limits.keep > 0) renameIfThere(this.file, `${this.file}.1`);
    // keep 0: the current file is simply started again.
    this.fd = openSync(this.file, this.limits.keep > 0 ? 'a' : 'w', 0o600);
    this.size = 0;
  }
}

function renameIfThere(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * The last `count` lines of a rotated log, oldest first: from `file`, then as far back through
 * `file.1`, `file.2`, … as it takes.
 */
export async function tailLines(file: string, count: number, keep = DEFAULT_ROTATION.keep): Promise<string[]> {
  let lines: string[] = [];
  for (let i = 0; i <= keep && lines.length < count; i += 1) {
    const text = await readFile(i === 0 ? file : `${file}.${i}`, 'utf8').catch(() => undefined);
    if (text === undefined) break;
    lines = text
      .split('\n')
      .filter((l) => l !== '')
      .slice(-(count - lines.length))
      .concat(lines);
  }
  return lines;
}
