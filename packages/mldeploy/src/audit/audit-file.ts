import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseTargetUri } from '@mldeploy/core';

/** The longest readable part of a log's file name. */
const SLUG_LIMIT = 64;

/** The folder of the client-side audit logs: `~/.mldeploy/audit`. */
export function auditDirOf(homeDir: string): string {
  return path.join(homeDir, '.mldeploy', 'audit');
}

/**
 * The client-side audit log of a target URI: `~/.mldeploy/audit/<readable part>-<12 hex>.jsonl`.
 * The readable part keeps the URI's letters, digits, `.`, `_` and `-` (any other run becomes one
 * `_`, leading dots and underscores go), so a URI can never name a path outside the folder; the
 * hex digits (of the URI's sha256) tell apart URIs that read alike.
 */
export function auditFileOf(homeDir: string, targetUri: string): string {
  const { uri } = parseTargetUri(targetUri);
  const slug =
    uri
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^[._]+/, '')
      .slice(0, SLUG_LIMIT) || 'target';
  const digest = createHash('sha256').update(uri).digest('hex').slice(0, 12);
  return path.join(auditDirOf(homeDir), `${slug}-${digest}.jsonl`);
}
