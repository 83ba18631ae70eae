import { readFileSync } from 'node:fs';

/** Whether process `pid` runs (gone or a zombie does not): for tests that wait for processes to end. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
