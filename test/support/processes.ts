import { readdirSync, readFileSync } from 'node:fs';

/** Whether process `pid` runs (gone or a zombie does not): for tests that wait for processes to end. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/**
 * The live processes whose command line names `home` (a control plane, its gateway, its workers:
 * each gets the home, or a path in it, as an argument), optionally only those running `script`.
 */
export function processesOfHome(home: string, script?: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return (
          (script === undefined || args.some((a) => a.endsWith(script))) &&
          args.some((a) => a === home || a.includes(`${home}/`)) &&
          isRunning(Number(pid))
        );
      } catch {
        return false; // Gone meanwhile.
      }
    })
    .map(Number);
}

/** `pid` and the start of its command line, for failure messages. */
export function describeProcess(pid: number): string {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 300)}`;
  } catch {
    return `${pid} (gone)`;
  }
}
