import type { WriteStream } from 'node:fs';

/** One structured log line of a deployment: JSON, one object per line. */
export interface LogRecord {
  readonly time: string;
  readonly deployment: string;
  readonly revision: number;
  readonly replica: number;
  /** `stdout`/`stderr` for the worker's own output, else a lifecycle event (`ready`, `crashed`, …). */
  readonly event: string;
  readonly message: string;
}

/** Appends a record to a deployment's log. */
export function writeLogRecord(stream: WriteStream, record: Omit<LogRecord, 'time'>): void {
  stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
}

/** Parses a log line; lines that are not records (from older versions) become `stdout` messages. */
export function parseLogLine(line: string, deployment: string): LogRecord {
  try {
    const parsed = JSON.parse(line) as LogRecord;
    if (typeof parsed === 'object' && parsed !== null && typeof parsed.message === 'string') return parsed;
  } catch {
    // Not JSON.
  }
  return { time: '', deployment, revision: 0, replica: 0, event: 'stdout', message: line };
}
