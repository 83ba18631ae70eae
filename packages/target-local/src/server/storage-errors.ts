import path from 'node:path';
import { MlDeployError } from '@mldeploy/core';

/** SQLite's primary result codes (the low byte of an extended one) that say the file, not the statement, is at fault. */
const SQLITE_IOERR = 10;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_NOTADB = 26;

/** The primary SQLite result code of an error node:sqlite threw, if it is one. */
function sqliteCode(error: unknown): number | undefined {
  const code = (error as { errcode?: unknown } | null | undefined)?.errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

/** Whether `error` says that the disk is full: ENOSPC from the file system, SQLITE_FULL from SQLite. */
export function isDiskFull(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null | undefined)?.code === 'ENOSPC' || sqliteCode(error) === SQLITE_FULL;
}

/**
 * A write of `file` that failed for want of disk space. The operation that wrote it failed as a
 * whole (a transaction rolled back, a temp file removed), so trying again once there is space is
 * safe. `INTERNAL_ERROR`: MLflow has no code for an exhausted resource.
 */
export function diskFull(file: string, cause: unknown): MlDeployError {
  const dir = path.dirname(file);
  return new MlDeployError('INTERNAL_ERROR', `Cannot write ${file}: the disk is full; nothing was changed`, {
    cause,
    hint: `Free space on the disk that holds ${dir} (see 'df -h ${dir}'), then try again.`,
    details: { file },
  });
}

/** The database `file` is damaged beyond use: `detail` says how (SQLite's message, or what PRAGMA quick_check found). */
export function damagedDatabase(file: string, detail: string, cause?: unknown): MlDeployError {
  return new MlDeployError('INVALID_STATE', `The local target's database ${file} is damaged: ${detail}`, {
    cause,
    hint:
      `With no control plane running, move ${file} (and ${path.basename(file)}-wal, -shm if there) aside to start with no deployments, ` +
      `or put back a backup; 'sqlite3 ${file} "PRAGMA integrity_check"' lists the damage.`,
    details: { file },
  });
}

/**
 * What an error node:sqlite threw while using `file` means to a user: a damaged file
 * (SQLITE_CORRUPT, SQLITE_NOTADB) is `INVALID_STATE`, a full disk or another I/O failure is
 * `INTERNAL_ERROR` naming the file. Anything else (a constraint a caller broke) is returned as it is.
 */
export function sqliteFailure(error: unknown, file: string): unknown {
  if (error instanceof MlDeployError) return error;
  if (isDiskFull(error)) return diskFull(file, error);
  const message = (error as Error | undefined)?.message ?? String(error);
  switch (sqliteCode(error)) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return damagedDatabase(file, message, error);
    case SQLITE_IOERR:
      return new MlDeployError('INTERNAL_ERROR', `Cannot read or write the local target's database ${file}: ${message}`, {
        cause: error,
        hint: `Check the disk that holds ${path.dirname(file)} (space, errors in 'dmesg'), then try again.`,
        details: { file },
      });
    default:
      return error;
  }
}
