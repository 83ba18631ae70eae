import { createHash } from 'node:crypto';
import { MlDeployError, pickByWeight } from '@mldeploy/core';
import type { EndpointConfig } from './state-store.js';

/** The request header that pins a request to one deployment of an endpoint. */
const PIN_HEADER = 'x-mldeploy-deployment';

/** Which deployment serves an endpoint request, and the rule that chose it. */
export interface RouteDecision {
  readonly deployment: string;
  readonly rule: 'pinned' | 'sticky' | 'weighted';
}

/** A stable bucket in [0, 100) for a sticky header value. */
function stickyTicket(value: string): number {
  return createHash('sha256').update(value).digest().readUInt32BE(0) % 100;
}

/**
 * Chooses the deployment for a request to an endpoint: a pin header wins, then a sticky header
 * (hashed, so one caller always lands on the same side of the split), then a weighted draw.
 *
 * @throws MlDeployError `BAD_REQUEST` when the pin names a deployment outside the endpoint.
 */
export function chooseRoute(
  endpoint: string,
  config: EndpointConfig,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  draw: () => number = Math.random,
): RouteDecision {
  const pinned = headers[PIN_HEADER];
  if (typeof pinned === 'string' && pinned !== '') {
    // Own keys only: a pin of `toString` or `__proto__` must not find Object.prototype's members.
    if (!Object.hasOwn(config.traffic, pinned)) {
      throw new MlDeployError(
        'BAD_REQUEST',
        `${PIN_HEADER}: "${pinned}" is not a deployment of endpoint "${endpoint}" (it routes to ${Object.keys(config.traffic).join(', ')})`,
      );
    }
    return { deployment: pinned, rule: 'pinned' };
  }
  if (config.stickyHeader !== null) {
    const value = headers[config.stickyHeader.toLowerCase()];
    if (typeof value === 'string' && value !== '') return { deployment: pickByWeight(config.traffic, stickyTicket(value)), rule: 'sticky' };
  }
  return { deployment: pickByWeight(config.traffic, Math.floor(draw() * 100)), rule: 'weighted' };
}
