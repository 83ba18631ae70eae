/** One RBAC rule, as in a Role's `rules`. */
export interface RbacRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/**
 * What the kubernetes target needs in its namespace, and no more: `mldeploy help -t kubernetes`
 * prints these, and the tests run as a service account bound to exactly them.
 */
export const RBAC_RULES: readonly RbacRule[] = [
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'create', 'update', 'delete'] },
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'create', 'delete'] },
  // Each deployment's serving token: created with it, read by predict, deleted with it.
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'delete'] },
  { apiGroups: [''], resources: ['services/proxy'], verbs: ['create'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
  { apiGroups: ['serving.kserve.io'], resources: ['inferenceservices'], verbs: ['get', 'list', 'create', 'update', 'delete'] },
];

/** The rules as a Role manifest in YAML, for the help text. */
export function rbacRoleYaml(): string {
  const lines = ['apiVersion: rbac.authorization.k8s.io/v1', 'kind: Role', 'metadata:', '  name: mldeploy', 'rules:'];
  for (const rule of RBAC_RULES) {
    lines.push(`  - apiGroups: [${rule.apiGroups.map((g) => JSON.stringify(g)).join(', ')}]`);
    lines.push(`    resources: [${rule.resources.join(', ')}]`);
    lines.push(`    verbs: [${rule.verbs.join(', ')}]`);
  }
  return lines.join('\n');
}
