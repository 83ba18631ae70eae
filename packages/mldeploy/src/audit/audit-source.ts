import type { AuditRecord, AuditVerification, BaseDeploymentClient } from '@mldeploy/core';
import { AuditJournal } from './audit-journal.js';
import { auditFileOf } from './audit-file.js';

/** How many entries one export request asks a control plane for. */
const EXPORT_PAGE = 1000;

/** The audit methods of a target that keeps its own log (the local target's client). */
interface OwnAuditLog {
  auditLog(subject?: string, limit?: number): Promise<AuditRecord[]>;
  auditEntries(after?: number, limit?: number): Promise<AuditRecord[]>;
  verifyAudit(): Promise<AuditVerification>;
}

/** Whether `client`'s target keeps an audit log of its own (a control plane that records every change), as the local target does. */
export function hasOwnAuditLog(client: BaseDeploymentClient): client is BaseDeploymentClient & OwnAuditLog {
  const methods = client as unknown as Partial<Record<keyof OwnAuditLog, unknown>>;
  return typeof methods.auditLog === 'function' && typeof methods.auditEntries === 'function' && typeof methods.verifyAudit === 'function';
}

/** A target's audit log, wherever it is kept: what `mldeploy audit list|verify|export` read. */
export interface AuditSource {
  /** Where the log is, for messages. */
  readonly where: string;
  /** The last `limit` entries, oldest first; of one subject when given. */
  list(subject: string | undefined, limit: number): Promise<AuditRecord[]>;
  /** Every entry, oldest first; `skipped` hears of each stored line that holds none. */
  entries(skipped: (problem: string) => void): AsyncIterable<AuditRecord>;
  verify(): Promise<AuditVerification>;
}

/** The log of a control plane, through its client. */
function controlPlaneLog(client: BaseDeploymentClient & OwnAuditLog): AuditSource {
  return {
    where: `the control plane of ${client.targetUri}`,
    list: (subject, limit) => client.auditLog(subject, limit),
    async *entries() {
      for (let after = 0; ;) {
        const page = await client.auditEntries(after, EXPORT_PAGE);
        yield* page;
        if (page.length < EXPORT_PAGE) return;
        after = page.at(-1)!.id;
      }
    },
    verify: () => client.verifyAudit(),
  };
}

/** The CLI's own log of a target without a control plane. */
function journalLog(journal: AuditJournal): AuditSource {
  return {
    where: journal.file,
    list: (subject, limit) => journal.list(subject, limit),
    async *entries(skipped) {
      for await (const line of journal.lines()) {
        if ('entry' in line) yield line.entry;
        else skipped(line.problem);
      }
    },
    verify: () => journal.verify(),
  };
}

/** The client-side log of `targetUri` in `homeDir`'s `.mldeploy/audit`. */
export function journalOf(homeDir: string, targetUri: string): AuditJournal {
  return new AuditJournal(auditFileOf(homeDir, targetUri));
}

/** The audit log of `client`'s target: its control plane's, or the one the CLI keeps for it in `homeDir`. */
export function auditSourceOf(client: BaseDeploymentClient, homeDir: string): AuditSource {
  return hasOwnAuditLog(client) ? controlPlaneLog(client) : journalLog(journalOf(homeDir, client.targetUri));
}
