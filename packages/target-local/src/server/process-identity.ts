import { readFileSync } from 'node:fs';

/** A process as the kernel names it for good: its pid and the start time of that pid. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Linux: /proc/<pid>/stat field 22; null where /proc is not there. */
  readonly started: string | null;
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is field 3, the state. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * The start time of process `pid` as the kernel reports it, or null where /proc is not there
 * (or the process is gone). A pid and its start time name one process for good.
 */
export function processStart(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/** Whether `pid` is a zombie: exited, not yet reaped by its parent (false when /proc cannot tell). */
export function isZombie(pid: number): boolean {
  return statFields(pid)?.[0] === 'Z';
}

/** Whether the process `identity` names still runs: not gone, not a zombie, its pid not reused. */
export function processRuns(identity: ProcessIdentity): boolean {
  try {
    process.kill(identity.pid, 0);
  } catch {
    return false;
  }
  if (identity.started === null) return true;
  const fields = statFields(identity.pid);
  return fields !== undefined && fields[0] !== 'Z' && fields[19] === identity.started;
}
