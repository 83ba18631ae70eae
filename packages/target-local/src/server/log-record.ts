import type { Level, Logger } from 'pino';

/** One structured log line of a deployment: JSON, one object per line. */
export interface LogRecord {
  readonly time: string;
  /** pino's level word: `debug`, `info`, `warn`, `error`, … */
  readonly level: string;
  readonly deployment: string;
  readonly revision: number;
  readonly replica: number;
  /** `stdout`/`stderr` for the worker's own output, else a lifecycle event (`ready`, `crashed`, …). */
  readonly event: string;
  readonly message: string;
}

const LEVELS = new Set<string>(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/**
 * Characters of a worker's line kept in one record; the rest is cut, so that one record stays
 * far below the size at which a log file rotates and a deployment's log stays bounded.
 */
export const MAX_MESSAGE_CHARS = 16 * 1024;

function cut(message: string): string {
  return message.length <= MAX_MESSAGE_CHARS
    ? message
    : `${message.slice(0, MAX_MESSAGE_CHARS)}… (${message.length - MAX_MESSAGE_CHARS} more characters cut)`;
}

/** Parses a log line; lines that are not records (from older versions) become `stdout` messages. */
export function parseLogLine(line: string, deployment: string): LogRecord {
  try {
    const parsed = JSON.parse(line) as Partial<LogRecord> | null;
    if (typeof parsed === 'object' && parsed !== null && typeof parsed.message === 'string') {
      return {
        time: '',
        deployment,
        revision: 0,
        replica: 0,
        event: 'stdout',
        ...parsed,
        level: typeof parsed.level === 'string' ? parsed.level : 'info',
      } as LogRecord;
    }
  } catch {
    // Not JSON.
  }
  return { time: '', level: 'info', deployment, revision: 0, replica: 0, event: 'stdout', message: line };
}

/**
 * Records one line of a worker's output in its deployment's log. A worker logs its own events as
 * pino JSON lines on stdout; those keep their level and event. Anything else (a model library
 * printing, a Python traceback) is recorded as it came: `stdout` at info, `stderr` at warn,
 * since stderr is where programs report trouble. Messages longer than {@link MAX_MESSAGE_CHARS}
 * are cut.
 */
export function recordWorkerLine(log: Logger, line: string, stream: 'stdout' | 'stderr'): void {
  if (line.trim() === '') return;
  if (line.startsWith('{')) {
    try {
      const record = JSON.parse(line) as { level?: unknown; event?: unknown; message?: unknown } | null;
      if (record !== null && typeof record.level === 'string' && LEVELS.has(record.level) && typeof record.message === 'string') {
        log[record.level as Level]({ event: typeof record.event === 'string' ? record.event : stream }, cut(record.message));
        return;
      }
    } catch {
      // Printed JSON-looking text: recorded as it came.
    }
  }
  if (stream === 'stderr') log.warn({ event: stream }, cut(line));
  else log.info({ event: stream }, cut(line));
}
