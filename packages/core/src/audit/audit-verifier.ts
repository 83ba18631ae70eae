import { GENESIS_HASH, auditHash, type AuditRecord } from './audit-record.js';

/** What is wrong with a log at its first problem. */
export type AuditProblemKind =
  /** An entry's fields do not match its hash: it was changed after it was written. */
  | 'edited'
  /** An id is missing: the entry was deleted (or, at the end, the log was cut short). */
  | 'removed'
  /** An entry is out of order or repeated. */
  | 'reordered'
  /** An entry does not link to the one before it (`prev_hash`): one was replaced, or the chain was re-hashed from there. */
  | 'unlinked'
  /** A line or row that is not an audit entry at all. */
  | 'malformed';

/** The first problem of a log, with the id of the entry it concerns. */
export interface AuditProblem {
  readonly id: number;
  readonly kind: AuditProblemKind;
  readonly message: string;
}

/** The outcome of checking a log's hash chain. */
export interface AuditVerification {
  readonly intact: boolean;
  /** How many entries the log holds. */
  readonly entries: number;
  /** The last entry's id and hash (null for an empty log): keep the hash elsewhere to detect a log cut short later. */
  readonly last_id: number | null;
  readonly last_hash: string | null;
  /** The first problem, when the log is not intact. */
  readonly problem?: AuditProblem;
}

/**
 * Checks a log's entries one by one, in the order they are stored (so that a log of any size
 * is checked without holding it): ids must run 1, 2, 3, … without gaps, each entry must match
 * its hash, and link to the one before by `prev_hash` (the first to {@link GENESIS_HASH}).
 * The first problem is kept; the rest of the log is still read, so that a "missing" entry that
 * turns up later is reported as re-ordered instead.
 */
export class AuditChainVerifier {
  private count = 0;
  private last: { readonly id: number; readonly hash: string } | undefined;
  private found: AuditProblem | undefined;
  /** The ids a gap left missing, while they may still turn up further on. */
  private missing: { readonly from: number; readonly to: number } | undefined;

  /** Checks the next stored entry. */
  add(entry: AuditRecord): void {
    this.count += 1;
    const { missing } = this;
    if (missing !== undefined && entry.id >= missing.from && entry.id <= missing.to) {
      this.found = { id: entry.id, kind: 'reordered', message: `Entry ${entry.id} is stored after later entries: the log was re-ordered` };
      this.missing = undefined;
    }
    if (this.found === undefined) this.found = this.problemOf(entry);
    this.last = { id: entry.id, hash: entry.hash };
  }

  /**
   * Records a stored line or row that is not a whole entry: `what` says which and why; `id` is
   * its id when it has one (else the one expected there).
   */
  malformed(what: string, id?: number): void {
    this.count += 1;
    const expected = (this.last?.id ?? 0) + 1;
    this.fail({ id: id ?? expected, kind: 'malformed', message: `${what}: not a whole audit entry` });
    if (id !== undefined) this.last = { id, hash: '' };
  }

  /** Records a problem found outside the chain (a store's own counter of ids, say), unless one was found already. */
  fail(problem: AuditProblem): void {
    this.found ??= problem;
  }

  /** The last entry checked, if any. */
  get lastEntry(): { readonly id: number; readonly hash: string } | undefined {
    return this.last;
  }

  result(): AuditVerification {
    return {
      intact: this.found === undefined,
      entries: this.count,
      last_id: this.last?.id ?? null,
      last_hash: this.last?.hash ?? null,
      ...(this.found === undefined ? {} : { problem: this.found }),
    };
  }

  private problemOf(entry: AuditRecord): AuditProblem | undefined {
    const { last } = this;
    if (last !== undefined && entry.id <= last.id) {
      return { id: entry.id, kind: 'reordered', message: `Entry ${entry.id} is stored after entry ${last.id}: the log was re-ordered` };
    }
    if (auditHash(entry.prev_hash, entry) !== entry.hash) {
      return { id: entry.id, kind: 'edited', message: `Entry ${entry.id} does not match its hash: it was edited after it was written` };
    }
    const expected = (last?.id ?? 0) + 1;
    if (entry.id > expected) {
      this.missing = { from: expected, to: entry.id - 1 };
      const ids = entry.id - 1 === expected ? `Entry ${expected} is` : `Entries ${expected}–${entry.id - 1} are`;
      return { id: expected, kind: 'removed', message: `${ids} missing (the next stored is ${entry.id}): removed from the log` };
    }
    if (entry.prev_hash !== (last?.hash ?? GENESIS_HASH)) {
      return {
        id: entry.id,
        kind: 'unlinked',
        message: `Entry ${entry.id} does not link to ${last === undefined ? 'the start of the log' : `entry ${last.id}`}: an entry before it was replaced, or the chain re-hashed`,
      };
    }
    return undefined;
  }
}
