import { isMlDeployError, type BaseDeploymentClient } from '@mldeploy/core';
import type { RemoteTargetFeed } from '@mldeploy/target-local';

/** Field names that may hold a secret: never sent to the dashboard, whatever a plugin puts there. */
const SECRET_NAME = /secret|token|passw|credential|key|auth|cookie|session|env/i;

/** A value the dashboard shows as it is. */
type PlainValue = string | number | boolean | null;

/** The longest text kept of a field. */
const TEXT_LIMIT = 512;

/**
 * What the dashboard shows of another target's deployment or endpoint: its name and its plain
 * top-level fields (text, numbers, booleans), none whose name suggests a secret, texts cut short.
 * Nested objects (configs, which may hold credentials) are left out: the dashboard runs in a
 * browser, and a plugin's record is not ours to vet.
 */
export function plainFields(resource: Record<string, unknown>): { name: string } & Record<string, PlainValue> {
  const fields: Record<string, PlainValue> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (SECRET_NAME.test(key)) continue;
    if (typeof value === 'string') fields[key] = value.length > TEXT_LIMIT ? `${value.slice(0, TEXT_LIMIT)}…` : value;
    else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean' || value === null) fields[key] = value;
  }
  const name = resource['name'];
  return { ...fields, name: (typeof name === 'string' ? name : '?').slice(0, 256) };
}

/**
 * Reads a target's deployments and endpoints through its client, with the caller's credentials,
 * as the feed the dashboard takes. A failure is part of the feed (shown on the page), not thrown.
 */
export async function readTargetFeed(uri: string, client: BaseDeploymentClient, intervalSeconds: number): Promise<RemoteTargetFeed> {
  try {
    const deployments = await client.listDeployments();
    // Endpoints are optional for a target: one without them shows none (any other failure is the feed's error).
    const endpoints = await client.listEndpoints().catch((error: unknown) => {
      if (isMlDeployError(error) && error.code === 'NOT_IMPLEMENTED') return [];
      throw error;
    });
    return {
      uri,
      interval_seconds: intervalSeconds,
      error: null,
      deployments: deployments.slice(0, 500).map((d) => plainFields(d)),
      endpoints: endpoints.slice(0, 500).map((e) => plainFields(e)),
    };
  } catch (error) {
    return { uri, interval_seconds: intervalSeconds, error: (error as Error).message.slice(0, 4096), deployments: [], endpoints: [] };
  }
}
