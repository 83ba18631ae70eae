import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { LevelWithSilentOrString } from 'pino';
import { parseLogLine, type LogRecord } from './log-record.js';
import { createLogger, reportToStderr, type Logger, type LogTroubleReport } from './logger.js';
import { DEFAULT_ROTATION, RotatingFile, tailLines, type RotationLimits } from './rotating-file.js';

/** Which replica a log record is about. */
export interface ReplicaLabel {
  readonly deployment: string;
  readonly revision: number;
  readonly replica: number;
}

/**
 * The per-deployment logs of a control plane: `logs/<deployment>.log`, JSON lines written
 * through pino, rotated by size, read back by `mldeploy logs`. A deployment holds one descriptor
 * while it exists, none once deleted.
 */
export class DeploymentLogs {
  private readonly open = new Map<string, { file: RotatingFile; logger: Logger }>();

  /**
   * No I/O: a deployment's file is opened by its first record. `report` is told, with the file's
   * name, when writing a deployment's log fails (a full disk) and when it works again.
   */
  constructor(
    private readonly dir: string,
    private readonly level: LevelWithSilentOrString = 'info',
    private readonly limits: RotationLimits = DEFAULT_ROTATION,
    private readonly report: LogTroubleReport = reportToStderr,
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
   * Closes a deployment's file and forgets it (its create failed): the file stays for inspection,
   * and a late record (from a worker still stopping) is still appended, without keeping it open.
   */
  close(deployment: string): void {
    this.open.get(deployment)?.file.close();
    this.open.delete(deployment);
  }

  /**
   * Removes a deployment's log (it was deleted): closes its file, drops the records of workers
   * still stopping, and deletes the file and every rotation of it, so that a deployment created
   * later under the same name starts with an empty log.
   */
  async remove(deployment: string): Promise<void> {
    this.open.get(deployment)?.file.dispose();
    this.open.delete(deployment);
    const base = `${deployment}.log`;
    const names = await readdir(this.dir).catch(() => [] as string[]);
    // Every rotation, also those beyond the current `keep` (left by a run with a larger one).
    const ours = names.filter((name) => name === base || (name.startsWith(`${base}.`) && /^\d+$/.test(name.slice(base.length + 1))));
    await Promise.all(ours.map((name) => rm(path.join(this.dir, name), { force: true })));
  }

  /** Closes every file, at shutdown. */
  closeAll(): void {
    for (const { file } of this.open.values()) file.close();
    this.open.clear();
  }

  private deployment(name: string): Logger {
    let entry = this.open.get(name);
    if (entry === undefined) {
      const file = new RotatingFile(this.file(name), this.limits);
      const report: LogTroubleReport = (message, recovered) => this.report(`${file.file}: ${message}`, recovered);
      entry = { file, logger: createLogger(file, { deployment: name }, this.level, report) };
      this.open.set(name, entry);
    }
    return entry.logger;
  }

  private file(name: string): string {
    return path.join(this.dir, `${name}.log`);
  }
}
