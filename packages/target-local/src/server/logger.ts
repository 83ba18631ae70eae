import { writeSync } from 'node:fs';
import { pino, type DestinationStream, type Level, type LevelWithSilentOrString, type Logger } from 'pino';

export type { Logger } from 'pino';

/** The environment variable that sets the level of the control plane's and workers' logs. */
const LOG_LEVEL_ENV = 'MLDEPLOY_LOG_LEVEL';

const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** The log level from `MLDEPLOY_LOG_LEVEL`, `info` when unset or not a level. */
export function logLevelFrom(env: Readonly<Record<string, string | undefined>>): Level {
  const value = env[LOG_LEVEL_ENV]?.toLowerCase();
  return LEVELS.find((level) => level === value) ?? 'info';
}

/**
 * Told when a log's destination starts failing (`recovered` false: its records are being dropped)
 * and when it works again (`recovered` true), once each per outage.
 */
export type LogTroubleReport = (message: string, recovered: boolean) => void;

/**
 * Reports trouble with the control plane's own log (its stdout, `logs/server.log` in the
 * background) on stderr, as a JSON line written straight to the descriptor: it must work when
 * stdout is what fails, and it never throws.
 */
export function reportToStderr(message: string, recovered: boolean): void {
  const line = {
    time: new Date().toISOString(),
    level: recovered ? 'warn' : 'error',
    component: 'control-plane',
    event: recovered ? 'log-write-recovered' : 'log-write-failed',
    message: `the control plane's log (stdout): ${message}`,
  };
  try {
    writeSync(2, `${JSON.stringify(line)}\n`);
  } catch {
    // stderr fails as well (the same full disk): nothing is left to tell.
  }
}

/**
 * A pino logger writing mldeploy's JSON lines: `level` as a word, `time` as ISO 8601 and the
 * text under `message`, the shape `mldeploy logs` and `logs/server.log` have always had, so that
 * people and scripts read the same records. `bindings` go on every line.
 *
 * Logging never fails its caller: a record the destination cannot take (a full disk) is dropped,
 * and `report` is told when that starts and when writing works again (see {@link GuardedDestination}).
 */
export function createLogger(
  destination: DestinationStream,
  bindings: Readonly<Record<string, unknown>>,
  level: LevelWithSilentOrString = 'info',
  report: LogTroubleReport = reportToStderr,
): Logger {
  return pino(
    {
      level,
      base: { ...bindings },
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    new GuardedDestination(destination, report),
  );
}

/** A Node stream destination (stdout, a file stream): its errors arrive as 'error' events. */
interface StreamDestination {
  write(line: string, callback: (error?: Error | null) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

function isStream(destination: DestinationStream): destination is DestinationStream & StreamDestination {
  return typeof (destination as { on?: unknown }).on === 'function';
}

/**
 * A log destination that never throws and never emits an unhandled 'error' (which would end the
 * process: a full disk under `logs/server.log` once took the control plane down). A record that
 * cannot be written is dropped; the first failure of an outage is reported, and the first write
 * that succeeds afterwards is reported with the number of records lost, so an outage costs two
 * lines, not one per record.
 */
export class GuardedDestination implements DestinationStream {
  private lost = 0;

  /** No I/O. */
  constructor(
    private readonly inner: DestinationStream,
    private readonly report: LogTroubleReport,
  ) {
    // Failures are counted through write's callback; this listener only keeps them from crashing.
    if (isStream(inner)) inner.on('error', () => undefined);
  }

  write(line: string): void {
    if (isStream(this.inner)) {
      this.inner.write(line, (error) => this.settled(error ?? undefined));
      return;
    }
    try {
      this.inner.write(line);
    } catch (error) {
      this.settled(error as Error);
      return;
    }
    this.settled(undefined);
  }

  private settled(error: Error | undefined): void {
    if (error !== undefined) {
      if (this.lost === 0) {
        this.report(`writing failed (${error.message}); records are dropped until writes succeed again`, false);
      }
      this.lost += 1;
    } else if (this.lost > 0) {
      this.report(`writing works again; ${this.lost} record(s) were dropped meanwhile`, true);
      this.lost = 0;
    }
  }
}
