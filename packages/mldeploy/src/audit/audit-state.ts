import { maskSecrets } from '@mldeploy/core';

/** What a deployment or endpoint's recorded state is made of, of the fields targets report. */
const STATE_FIELDS = [
  'model_uri',
  'model_version',
  'revision',
  'flavor',
  'config',
  'replicas',
  'traffic',
  'sticky_header',
  'shadow',
  'variants',
] as const;

/** A SageMaker variant without its live figures (they change by themselves, not by a change). */
function settledVariant(variant: unknown): unknown {
  if (typeof variant !== 'object' || variant === null) return variant;
  return Object.fromEntries(Object.entries(variant).filter(([key]) => !key.startsWith('current_')));
}

/**
 * A deployment's or endpoint's state as a target reports it, reduced to what a change sets
 * (model URI, version, revision, flavor, config, replicas, traffic, variants) without live
 * figures (state, replicas ready, timestamps), secrets masked: the `before` and `after` of a
 * client-side audit entry.
 */
export function auditState(view: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  for (const field of STATE_FIELDS) {
    const value = view[field];
    if (value === undefined) continue;
    state[field] = field === 'variants' && Array.isArray(value) ? value.map(settledVariant) : value;
  }
  return maskSecrets(state) as Record<string, unknown>;
}
