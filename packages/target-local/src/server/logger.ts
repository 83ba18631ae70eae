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
 * A pino logger writing mldeploy's JSON lines: `level` as a word, `time` as ISO 8601 and the
 * text under `message`, the shape `mldeploy logs` and `logs/server.log` have always had, so that
 * people and scripts read the same records. `bindings` go on every line.
 */
export function createLogger(
  destination: DestinationStream,
  bindings: Readonly<Record<string, unknown>>,
  level: LevelWithSilentOrString = 'info',
): Logger {
  return pino(
    {
      level,
      base: { ...bindings },
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
