import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../../../test/support/temp.js';

/** A real file system that fills up: a small tmpfs, mounted for one test. */
export interface SmallDisk {
  readonly dir: string;
  /** Writes a filler file until the disk has not one byte left. */
  fill(): void;
  /** Removes the filler: the disk has space again. */
  free(): void;
  unmount(): void;
}

/**
 * Mounts a tmpfs of `bytes`, or returns why it cannot: mounting needs root (CAP_SYS_ADMIN).
 * Elsewhere the disk-full tests are skipped, with that reason in the test's name.
 */
export function mountSmallDisk(label: string, bytes: number): SmallDisk | string {
  const dir = tempDir(`disk-${label}`);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (${String((error as { stderr?: unknown }).stderr ?? error).trim() || 'mount failed'})`;
  }
  const filler = path.join(dir, 'filler');
  return {
    dir,
    fill: () => {
      const fd = openSync(filler, 'a');
      try {
        // Whole pages first, then bytes, to use the last page too.
        for (const size of [64 * 1024, 4096, 1]) {
          const chunk = Buffer.alloc(size, 1);
          for (;;) {
            try {
              writeSync(fd, chunk);
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw error;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free: () => rmSync(filler, { force: true }),
    unmount: () => {
      execFileSync('umount', ['--lazy', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether this process may mount a tmpfs; the reason it may not otherwise. */
export function smallDiskUnavailable(): string | undefined {
  const disk = mountSmallDisk('probe', 64 * 1024);
  if (typeof disk === 'string') return disk;
  disk.unmount();
  return undefined;
}
