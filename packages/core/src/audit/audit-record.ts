import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './canonical-json.js';

/** The `prev_hash` of a log's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** A JSON value that must be there (`null` for none): `undefined` would drop out of the hash. */
const jsonValue = z.unknown().refine((value): boolean => value !== undefined, { error: 'is required (null for none)' });

/**
 * One entry of an audit log, as the control-plane API answers it and `mldeploy audit export`
 * writes it (one per line): who changed what, when, on which target, the state before and after,
 * and the result, chained to the entry before by `prev_hash`.
 */
export const auditRecordSchema = z.object({
  /** 1, 2, 3, … in the order the entries were appended: a gap is a removed entry. */
  id: z.int().min(1),
  /** When it was recorded (ISO 8601, UTC). */
  at: z.string(),
  /** Who: the OS user who ran the CLI, `token:<8 hex>` for an API call without one, `control-plane` for the control plane itself. */
  actor: z.string(),
  /** The target URI the change was made on (`local:/HOME` for the local target's control plane). */
  target: z.string(),
  /** The operation: `create`, `update`, `delete`, `rollback`, `create-endpoint`, `update-endpoint`, `delete-endpoint`, `shutdown`, … */
  action: z.string(),
  /** The deployment or endpoint it was about. */
  subject: z.string(),
  /** What was asked or done, in words or compact JSON. */
  detail: z.string(),
  /** The subject's recorded state before (model URI, revision, flavor, config, traffic; secrets masked), or null. */
  before: jsonValue,
  /** Its state after, or null (deleted, or never created). */
  after: jsonValue,
  /** `ok`, or `error: <CODE> <message>`. */
  result: z.string(),
  /** The previous entry's `hash` ({@link GENESIS_HASH} for the first). Any string is read: verification says what is wrong with it. */
  prev_hash: z.string(),
  /** sha256 (64 lowercase hex digits) of `prev_hash` followed by the canonical JSON of every other field. */
  hash: z.string(),
});

/** One audit log entry (see {@link auditRecordSchema}). */
export type AuditRecord = z.output<typeof auditRecordSchema>;

/** The fields an entry's hash covers: all but the two hashes. */
export type AuditFields = Omit<AuditRecord, 'prev_hash' | 'hash'>;

/** The hashed fields of `record`, and nothing else it may carry. */
function auditFields(record: AuditFields): AuditFields {
  const { id, at, actor, target, action, subject, detail, before, after, result } = record;
  return { id, at, actor, target, action, subject, detail, before, after, result };
}

/**
 * The hash that chains an entry: sha256, as lowercase hex, of the UTF-8 bytes of `prevHash`
 * followed by the canonical JSON (keys sorted, no whitespace) of its fields.
 */
export function auditHash(prevHash: string, fields: AuditFields): string {
  return createHash('sha256')
    .update(prevHash + canonicalJson(auditFields(fields)))
    .digest('hex');
}

/** An entry chained after the one whose hash is `prevHash`. */
export function sealAuditRecord(prevHash: string, fields: AuditFields): AuditRecord {
  return { ...auditFields(fields), prev_hash: prevHash, hash: auditHash(prevHash, fields) };
}
