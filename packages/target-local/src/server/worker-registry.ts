import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

const entrySchema = z.object({
  deployment: z.string(),
  revision: z.number().int(),
  replica: z.number().int(),
  pid: z.number().int(),
  port: z.number().int(),
  /** The process's start time (Linux: /proc/<pid>/stat field 22), so that a reused pid is not taken for the worker. */
  started: z.string().nullable(),
});

/** A running worker, as recorded in the home for a later control plane to adopt. */
export type WorkerEntry = Readonly<z.infer<typeof entrySchema>>;

/**
 * The workers of a home, one small JSON file each under `run/workers/`: written when a worker
 * serves, removed when it stops. They outlive the control plane, so that the next one adopts the
 * data plane instead of restarting it.
 */
export class WorkerRegistry {
  private readonly dir: string;

  /** No I/O. */
  constructor(home: string) {
    this.dir = path.join(home, 'run', 'workers');
  }

  async record(entry: WorkerEntry): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(this.file(entry), JSON.stringify(entry), { mode: 0o600 });
  }

  async forget(entry: Pick<WorkerEntry, 'deployment' | 'revision' | 'replica' | 'pid'>): Promise<void> {
    await rm(this.file(entry), { force: true });
  }

  /** Every recorded worker; files that are not entries (torn, foreign) are removed. */
  async entries(): Promise<WorkerEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const entries: WorkerEntry[] = [];
    for (const name of names) {
      const file = path.join(this.dir, name);
      try {
        entries.push(entrySchema.parse(JSON.parse(await readFile(file, 'utf8'))));
      } catch {
        await rm(file, { force: true });
      }
    }
    return entries;
  }

  private file(entry: Pick<WorkerEntry, 'deployment' | 'revision' | 'replica' | 'pid'>): string {
    // Deployment names are resource names (no path separators); encoded all the same.
    return path.join(this.dir, `${encodeURIComponent(entry.deployment)}.${entry.revision}.${entry.replica}.${entry.pid}.json`);
  }
}
