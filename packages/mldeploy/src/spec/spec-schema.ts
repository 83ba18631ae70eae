import { z } from 'zod';
import { RESOURCE_NAME_PATTERN, parseTargetUri, rolloutPolicySchema } from '@mldeploy/core';

/** The one version of the spec format: a file says which it is written in. */
const SPEC_API_VERSION = 'mldeploy/v1';

/**
 * A strict object whose unknown keys are reported with the keys it has (the loader names each
 * unknown key at its own line).
 */
const strictObject = <T extends z.core.$ZodLooseShape>(what: string, shape: T) =>
  z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `${what} has the keys ${Object.keys(shape).join(', ')}` : undefined),
  });

const resourceName = (kind: string) =>
  z.string().regex(RESOURCE_NAME_PATTERN, {
    error: `a ${kind} name has 1 to 63 characters: letters, digits, ".", "_" and "-", starting with a letter or digit`,
  });

/** What `-C key=value` would carry, in YAML's own types: a string, a number, true/false, or a mapping (sent as an object). */
const configValue = z.union([z.string(), z.number(), z.boolean(), z.record(z.string(), z.unknown())], {
  error: 'a config value is a string, a number, true/false or a mapping',
});

const deploymentSchema = strictObject('a deployment', {
  model_uri: z
    .string({ error: 'model_uri is a string: a path (relative to the spec file), runs:/…, models:/name@alias, s3://…' })
    .min(1, { error: 'model_uri is empty' })
    .describe(
      'The model: a path (relative paths are relative to the spec file), runs:/…, models:/name@alias or /N, s3://…, as the target accepts.',
    ),
  flavor: z.string().min(1).optional().describe('The flavor to serve; the target picks one when omitted (and then it is not compared).'),
  config: z
    .record(z.string().min(1), configValue)
    .optional()
    .describe(
      "The target's config keys (`-C key=value`; see `mldeploy help -t TARGET`). Keys the spec does not name are left as the target has them.",
    ),
  rollout: rolloutPolicySchema
    .optional()
    .describe(
      'Reserved: how a change of this deployment reaches traffic. Only all-at-once applies; staged rollouts are given on an endpoint.',
    ),
});

const trafficSchema = z
  .record(resourceName('deployment'), z.int({ error: 'a traffic weight is a whole number from 0 to 100' }).min(0).max(100))
  .superRefine((traffic, ctx) => {
    const total = Object.values(traffic).reduce((a, b) => a + b, 0);
    if (Object.keys(traffic).length === 0)
      ctx.addIssue({ code: 'custom', message: 'traffic names no deployment; give it {deployment: 100}' });
    else if (total !== 100) ctx.addIssue({ code: 'custom', message: `the traffic weights sum to ${total}; they must sum to 100` });
  })
  .describe('Deployment name → percentage of requests; the weights sum to 100.');

const endpointSchema = strictObject('an endpoint', {
  traffic: trafficSchema,
  config: z
    .record(z.string().min(1), configValue.nullable())
    .optional()
    .superRefine((config, ctx) => {
      if (config !== undefined && Object.hasOwn(config, 'traffic')) {
        ctx.addIssue({ code: 'custom', path: ['traffic'], message: "traffic is the endpoint's own key, beside config, not in it" });
      }
    })
    .describe(
      "The endpoint's other keys (local: sticky_header, shadow; sagemaker: its config keys). null: the endpoint must not have the key (local: removes a shadow or sticky_header).",
    ),
  rollout: rolloutPolicySchema
    .optional()
    .describe(
      "How a traffic change reaches the endpoint: all-at-once (default), or a staged rollout to the deployment the new traffic gives 100 (targets with the 'rollouts' capability).",
    ),
});

const targetSchema = strictObject('a target', {
  target: z
    .string({ error: 'target is a target URI such as local, local:/srv/mldeploy or sagemaker:/us-east-1' })
    .superRefine((uri, ctx) => {
      try {
        parseTargetUri(uri);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .describe('The target URI, as -t takes it: local, local:/ABS/DIR, kubernetes:/context/namespace, sagemaker:/region, …'),
  deployments: z
    .record(resourceName('deployment'), deploymentSchema)
    .default({})
    .describe('The deployments this target must have, by name.'),
  endpoints: z
    .record(resourceName('endpoint'), endpointSchema)
    .default({})
    .describe("The endpoints (traffic splits over deployments) this target must have, by name; needs the target's 'endpoints' capability."),
});

/** A spec file: the deployments and endpoints each target must have. See docs/specs.md. */
export const specSchema = strictObject('a spec', {
  apiVersion: z.literal(SPEC_API_VERSION, { error: `apiVersion must be ${SPEC_API_VERSION}` }).describe('The spec format: mldeploy/v1.'),
  targets: z
    .array(targetSchema)
    .min(1, { error: 'targets lists no target' })
    .superRefine(
      (targets: readonly unknown[], ctx) => {
        // Run even when other parts of the list have problems (so every problem is listed at once): the items may be anything.
        const seen = new Map<string, number>();
        targets.forEach((t, i) => {
          const uri = typeof t === 'object' && t !== null ? (t as { target?: unknown }).target : undefined;
          if (typeof uri !== 'string') return;
          const first = seen.get(uri.trim());
          if (first === undefined) seen.set(uri.trim(), i);
          else ctx.addIssue({ code: 'custom', path: [i, 'target'], message: `target ${uri} is already listed at targets[${first}]` });
        });
      },
      { when: (payload) => Array.isArray(payload.value) },
    )
    .describe('The targets, applied in this order.'),
}).meta({
  title: 'mldeploy spec',
  description: 'Deployments and endpoints declared per target, for `mldeploy plan -f FILE` and `mldeploy apply -f FILE` (docs/specs.md).',
});

/** A spec as the schema gives it (before relative model paths are resolved). */
export type Spec = z.output<typeof specSchema>;
/** One target's part of a spec. */
export type TargetSpec = Spec['targets'][number];
/** A deployment in a spec. */
export type DeploymentSpec = z.output<typeof deploymentSchema>;
/** An endpoint in a spec. */
export type EndpointSpec = z.output<typeof endpointSchema>;

/**
 * The JSON Schema of spec files (draft-07, which editors' YAML language servers read), as the
 * text committed at `schemas/mldeploy-spec.schema.json`.
 */
export function specJsonSchemaText(): string {
  return `${JSON.stringify(z.toJSONSchema(specSchema, { target: 'draft-7', io: 'input' }), null, 2)}\n`;
}
