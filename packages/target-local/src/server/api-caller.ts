import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { MlDeployError } from '@mldeploy/core';
import { ACTOR_HEADER } from './api-schema.js';

/** The longest actor name a request may give. */
const ACTOR_LIMIT = 128;

/**
 * Who made an API request, as its audit entries record it: the OS user the mldeploy client
 * names in `x-mldeploy-actor` (URI-encoded), else the token it called with as
 * `token:<first 8 hex digits of its sha256>` (never the token itself), else `anonymous`.
 *
 * The name is the caller's word: every caller holds this home's token, which only its owner
 * can read, so it tells apart the people (or scripts) sharing that account, not strangers.
 *
 * @throws MlDeployError `BAD_REQUEST` for an actor header that is not a short, printable name.
 */
export function callerOf(headers: IncomingHttpHeaders): string {
  const given = headers[ACTOR_HEADER];
  if (typeof given === 'string' && given !== '') {
    let actor: string;
    try {
      actor = decodeURIComponent(given);
    } catch {
      actor = '';
    }
    // eslint-disable-next-line no-control-regex
    if (actor === '' || actor.length > ACTOR_LIMIT || /[\u0000-\u001f\u007f]/.test(actor)) {
      throw new MlDeployError('BAD_REQUEST', `${ACTOR_HEADER} must be a URI-encoded name of 1 to ${ACTOR_LIMIT} printable characters`);
    }
    // Names the control plane gives its own changes are not a caller's to claim.
    return /^(control-plane$|rollout:|token:)/.test(actor) ? `user:${actor}` : actor;
  }
  const token = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
  return token === undefined ? 'anonymous' : `token:${createHash('sha256').update(token).digest('hex').slice(0, 8)}`;
}
