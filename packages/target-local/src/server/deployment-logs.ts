import path from 'node:path';
import type { LevelWithSilentOrString } from 'pino';
import { parseLogLine, type LogRecord } from './log-record.js';
import { createLogger, type Logger } from './logger.js';
import { DEFAULT_ROTATION, RotatingFile, tailLines, type RotationLimits } from './rotating-file.js';

/** Which replica a log record is about. */
export interface ReplicaLabel {
  readonly deployment: string;
  readonly revision: number;
  readonly replica: number;
}

/**
 * The per-deployment logs of a control plane: `logs/<deployment>.log`, JSON lines written
 * through pino, rotated by size, read back by `mldeploy logs`.
 */
export class DeploymentLogs {
  private readonly open = new Map<string, { file: RotatingFile; logger: Logger }>();

  /** No I/O: a deployment's file is opened by its first record. */
  constructor(
    private readonly dir: string,
    private readonly level: LevelWithSilentOrString = 'info',
    private readonly limits: RotationLimits = DEFAULT_ROTATION,
  ) {}

  /** The logger for one replica's records (its deployment, revision and replica on every line). */
  replica(label: ReplicaLabel): Logger {
    return this.deployment(label.deployment).child({ revision: label.revision, replica: label.replica });
  }

  /** The last `count` records of a deployment's log, oldest first, across rotated files. */
  async tail(deployment: string, count: number): Promise<LogRecord[]> {
    const lines = await tailLines(this.file(deployment), count, this.limits.keep);
    return lines.map((line) => parseLogLine(line, deployment));
  }

  /**
   * Closes a deployment's file (when it is deleted); the file itself stays for inspection, and a
   * late record (from a worker still stopping) opens it again.
   */
  close(deployment: string): void {
    this.open.get(deployment)?.file.close();
  }

  /** Closes every file, at shutdown. */
  closeAll(): void {
    for (const { file } of this.open.values()) file.close();
  }

  private deployment(name: string): Logger {
    let entry = this.open.get(name);
    if (entry === undefined) {
      const file = new RotatingFile(this.file(name), this.limits);
      entry = { file, logger: createLogger(file, { deployment: name }, this.level) };
      this.open.set(name, entry);
    }
    return entry.logger;
  }

  private file(name: string): string {
    return path.join(this.dir, `${name}.log`);
  }
}
