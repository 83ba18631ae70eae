/**
 * The control plane's REST API (v1), as data: every route with its method, path and the zod
 * schemas of its parameters, query, body and answer. The server registers its routes from this
 * table and the client (local-target/control-plane-api.ts) calls them through it, so a change to
 * one side that the other does not follow fails to compile; the client checks answers against
 * the same schemas at run time. docs/server-api.md documents every route (a test checks it).
 */
import { ROLLOUT_ACTIONS, rolloutPolicySchema } from '@mldeploy/core';
import { z } from 'zod';
import { auditRecordSchema } from '@mldeploy/core';

/**
 * The request header the mldeploy client names its OS user in (URI-encoded): the actor of the
 * audit entries the request causes. Without it, the entries name the token (see api-caller.ts).
 */
export const ACTOR_HEADER = 'x-mldeploy-actor';

/** A request field a body must have, as a non-empty string. */
const requiredText = (field: string) =>
  z.string({ error: `The request needs a string '${field}'` }).min(1, { error: `The request needs a string '${field}'` });

/** An optional string where `""` and `null` mean "not given", as they always have. */
const optionalText = (field: string) =>
  z
    .string({ error: (issue) => `${field} must be a string, got ${JSON.stringify(issue.input)}` })
    .nullish()
    .transform((value) => (value === '' || value === null ? undefined : value));

/** A config object (its keys are checked by the control plane); `null` means none. */
const config = z
  .record(z.string(), z.unknown(), { error: (issue) => `config must be an object, got ${JSON.stringify(issue.input)}` })
  .nullish()
  .transform((value) => value ?? undefined);

/** A body object that refuses fields it does not know (a typo must not be silently ignored). */
const body = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `Unknown field(s) in the request body: ${issue.keys.map((k) => `'${k}'`).join(', ')}`
        : undefined,
  });

/** A positive count in a query string, with a default and a ceiling it is clamped to. */
const count = (field: string, fallback: number, ceiling: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]*$/, { error: (issue) => `${field} must be a positive whole number, got ${JSON.stringify(issue.input)}` })
    .optional()
    .transform((value) => Math.min(value === undefined ? fallback : Number(value), ceiling));

const nameParams = z.object({ name: z.string().min(1) });

/** A rollout, as the API answers it (the core contract's `Rollout`, plus the last check's verdict). */
export const rolloutSchema = z.looseObject({
  id: z.string(),
  endpoint: z.string(),
  from: z.string(),
  to: z.string(),
  policy: rolloutPolicySchema,
  state: z.enum(['running', 'paused', 'succeeded', 'rolled_back', 'aborted', 'failed']),
  step: z.number(),
  weight: z.number(),
  decisions: z.array(
    z.looseObject({
      at: z.string(),
      step: z.number(),
      action: z.enum(['promote', 'hold', 'rollback', 'complete']),
      reason: z.string(),
      metrics: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
  started_at: z.string(),
  updated_at: z.string(),
  last_check: z.string().nullable().optional(),
  last_metrics: z.record(z.string(), z.number().nullable()).nullable().optional(),
});

const rolloutParams = z.object({
  id: z
    .string()
    .regex(/^ro-[0-9a-f]{10}$/, { error: (issue) => `Not a rollout id: ${JSON.stringify(issue.input)} (ids look like ro-0123456789)` }),
});

/**
 * The model fields of a create or update: `model_uri` as the user gave it (kept for history) and,
 * for a remote URI, the local `model_path` the client resolved it to with its registry
 * `model_version` (the control plane downloads nothing).
 */
const modelFields = {
  model_path: optionalText('model_path').optional(),
  model_version: optionalText('model_version').optional(),
};

/** `model_path` and `model_version` describe a `model_uri`: neither comes without it, nor the version without the path. */
function checkModelFields(
  fields: {
    readonly model_uri?: string | undefined;
    readonly model_path?: string | undefined;
    readonly model_version?: string | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  if (fields.model_path !== undefined && fields.model_uri === undefined)
    ctx.addIssue({ code: 'custom', message: 'model_path needs the model_uri it was resolved from' });
  if (fields.model_version !== undefined && fields.model_path === undefined)
    ctx.addIssue({ code: 'custom', message: 'model_version needs the model_path it describes' });
}

/** A deployment, as the API answers it. */
export const deploymentSchema = z.object({
  name: z.string(),
  flavor: z.string(),
  model_uri: z.string(),
  model_version: z.string().nullable(),
  revision: z.number().int(),
  state: z.enum(['ready', 'degraded', 'unavailable', 'failed']),
  error: z.string().optional(),
  /** The deployment's own URL, answered by its replicas themselves (on its port). */
  url: z.string(),
  /** The same deployment through the gateway (the control plane's port). */
  gateway_url: z.string(),
  replicas: z.number().int(),
  live_replicas: z.number().int(),
  restarts: z.number().int(),
  workers: z.array(z.object({ pid: z.number().int(), port: z.number().int() })),
  config: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  updated_at: z.string(),
});

/** How a shadow deployment compares with the primary. */
const shadowComparisonSchema = z.object({
  deployment: z.string(),
  mirrored: z.number().int(),
  errors: z.number().int(),
  agreement_rate: z.number().nullable(),
  mean_abs_difference: z.number().nullable(),
  max_abs_difference: z.number().nullable(),
  mean_latency_difference_ms: z.number().nullable(),
});

/** An endpoint, as the API answers it. */
export const endpointSchema = z.object({
  name: z.string(),
  traffic: z.record(z.string(), z.number()),
  sticky_header: z.string().nullable(),
  shadow: z.object({ deployment: z.string(), percent: z.number() }).nullable(),
  /** Present when the endpoint has a shadow. */
  shadow_comparison: shadowComparisonSchema.optional(),
  url: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});

/** One revision of a deployment. */
const revisionSchema = z.object({
  revision: z.number().int(),
  current: z.boolean(),
  reason: z.string(),
  model_uri: z.string(),
  model_version: z.string().nullable(),
  flavor: z.string(),
  config: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});

/** One record of a deployment's log. */
const logEntrySchema = z.object({
  time: z.string(),
  // A control plane started by an older mldeploy (still running after an upgrade) sends none.
  level: z.string().default('info'),
  deployment: z.string(),
  revision: z.number().int(),
  replica: z.number().int(),
  event: z.string(),
  message: z.string(),
});

/** What the dashboard shows of a deployment or endpoint of another target: its name and plain fields (no nested records). */
const remoteResource = z.object({ name: z.string().min(1).max(256) }).catchall(
  z.union([z.string().max(1024), z.number(), z.boolean(), z.null()], {
    error: 'a resource of another target has plain fields only (text of at most 1024 characters, numbers, booleans, null)',
  }),
);

/**
 * Another target's deployments and endpoints as `mldeploy dashboard --show URI` reads them with
 * the caller's own credentials, for the dashboard to show beside the local ones (the control
 * plane never holds another platform's credentials).
 */
const remoteTargetFeedSchema = body({
  uri: z.string().min(1).max(512),
  /** How often the feed comes: a feed not renewed within three intervals is shown as stale. */
  interval_seconds: z.number().min(1).max(3600),
  error: z.string().max(4096).nullable(),
  deployments: z.array(remoteResource).max(500),
  endpoints: z.array(remoteResource).max(500),
});

/** A feed of another target's resources (see {@link remoteTargetFeedSchema}). */
export type RemoteTargetFeed = z.infer<typeof remoteTargetFeedSchema>;

/** The outcome of checking the audit log's hash chain. */
const auditVerificationSchema = z.object({
  intact: z.boolean(),
  entries: z.int(),
  last_id: z.int().nullable(),
  last_hash: z.string().nullable(),
  problem: z
    .object({ id: z.int(), kind: z.enum(['edited', 'removed', 'reordered', 'unlinked', 'malformed']), message: z.string() })
    .optional(),
});

/** An entry id in a query string: 0 or more (0: from the start). */
const afterId = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, { error: (issue) => `after must be an entry id (0 or more), got ${JSON.stringify(issue.input)}` })
  .optional()
  .transform((value) => (value === undefined ? 0 : Number(value)));

/** The control plane's health. */
const healthSchema = z.object({ status: z.enum(['ok', 'starting']), version: z.string(), pid: z.number().int(), home: z.string() });

const deleted = z.object({ name: z.string(), deleted: z.literal(true) });

/** One route of the API. */
export interface ApiRoute {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** The path, with `:param` for path parameters. */
  readonly path: string;
  /** The status of a success. */
  readonly status: number;
  readonly params?: z.ZodType<Record<string, string>>;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  readonly response: z.ZodType;
}

/** Every route of the REST API (v1). */
export const API = {
  health: { method: 'GET', path: '/api/v1/health', status: 200, response: healthSchema },
  listDeployments: {
    method: 'GET',
    path: '/api/v1/deployments',
    status: 200,
    response: z.object({ deployments: z.array(deploymentSchema) }),
  },
  createDeployment: {
    method: 'POST',
    path: '/api/v1/deployments',
    status: 201,
    body: body({
      name: requiredText('name'),
      model_uri: requiredText('model_uri'),
      ...modelFields,
      flavor: optionalText('flavor').optional(),
      config: config.optional(),
    }).superRefine(checkModelFields),
    response: deploymentSchema,
  },
  getDeployment: { method: 'GET', path: '/api/v1/deployments/:name', status: 200, params: nameParams, response: deploymentSchema },
  updateDeployment: {
    method: 'PATCH',
    path: '/api/v1/deployments/:name',
    status: 200,
    params: nameParams,
    body: body({
      model_uri: optionalText('model_uri').optional(),
      ...modelFields,
      flavor: optionalText('flavor').optional(),
      config: config.optional(),
    }).superRefine(checkModelFields),
    response: deploymentSchema,
  },
  deleteDeployment: { method: 'DELETE', path: '/api/v1/deployments/:name', status: 200, params: nameParams, response: deleted },
  listRevisions: {
    method: 'GET',
    path: '/api/v1/deployments/:name/revisions',
    status: 200,
    params: nameParams,
    response: z.object({ revisions: z.array(revisionSchema) }),
  },
  rollback: {
    method: 'POST',
    path: '/api/v1/deployments/:name/rollback',
    status: 200,
    params: nameParams,
    body: body({
      to_revision: z
        .number({ error: (issue) => `to_revision must be a revision number, got ${JSON.stringify(issue.input)}` })
        .int({ error: (issue) => `to_revision must be a revision number, got ${JSON.stringify(issue.input)}` })
        .min(1, { error: (issue) => `to_revision must be a revision number, got ${JSON.stringify(issue.input)}` })
        .optional(),
    }),
    response: deploymentSchema,
  },
  logs: {
    method: 'GET',
    path: '/api/v1/deployments/:name/logs',
    status: 200,
    params: nameParams,
    query: z.object({ tail: count('tail', 100, 10_000) }),
    response: z.object({ name: z.string(), entries: z.array(logEntrySchema) }),
  },
  listEndpoints: { method: 'GET', path: '/api/v1/endpoints', status: 200, response: z.object({ endpoints: z.array(endpointSchema) }) },
  createEndpoint: {
    method: 'POST',
    path: '/api/v1/endpoints',
    status: 201,
    body: body({ name: requiredText('name'), config: config.optional() }),
    response: endpointSchema,
  },
  getEndpoint: { method: 'GET', path: '/api/v1/endpoints/:name', status: 200, params: nameParams, response: endpointSchema },
  updateEndpoint: {
    method: 'PATCH',
    path: '/api/v1/endpoints/:name',
    status: 200,
    params: nameParams,
    body: body({ config: config.optional() }),
    response: endpointSchema,
  },
  deleteEndpoint: { method: 'DELETE', path: '/api/v1/endpoints/:name', status: 200, params: nameParams, response: deleted },
  audit: {
    method: 'GET',
    path: '/api/v1/audit',
    status: 200,
    query: z.object({ subject: z.string().min(1).optional(), limit: count('limit', 100, 10_000) }),
    response: z.object({ entries: z.array(auditRecordSchema) }),
  },
  auditExport: {
    method: 'GET',
    path: '/api/v1/audit/export',
    status: 200,
    query: z.object({ after: afterId, limit: count('limit', 1000, 10_000) }),
    response: z.object({ entries: z.array(auditRecordSchema) }),
  },
  auditVerify: { method: 'GET', path: '/api/v1/audit/verify', status: 200, response: auditVerificationSchema },
  startRollout: {
    method: 'POST',
    path: '/api/v1/rollouts',
    status: 201,
    body: body({ endpoint: requiredText('endpoint'), to: requiredText('to'), policy: rolloutPolicySchema }),
    response: rolloutSchema,
  },
  listRollouts: {
    method: 'GET',
    path: '/api/v1/rollouts',
    status: 200,
    query: z.object({ endpoint: z.string().min(1).optional() }),
    response: z.object({ rollouts: z.array(rolloutSchema) }),
  },
  getRollout: { method: 'GET', path: '/api/v1/rollouts/:id', status: 200, params: rolloutParams, response: rolloutSchema },
  controlRollout: {
    method: 'POST',
    path: '/api/v1/rollouts/:id/:action',
    status: 200,
    params: rolloutParams.extend({
      action: z.enum(ROLLOUT_ACTIONS, {
        error: (issue) => `A rollout can be paused, resumed, aborted or promoted, not ${JSON.stringify(issue.input)}`,
      }),
    }),
    response: rolloutSchema,
  },
  dashboardLogin: {
    method: 'POST',
    path: '/api/v1/dashboard/login',
    status: 201,
    body: body({}),
    response: z.object({ url: z.string(), expires_at: z.string() }),
  },
  publishDashboardTarget: {
    method: 'POST',
    path: '/api/v1/dashboard/targets',
    status: 200,
    body: remoteTargetFeedSchema,
    response: z.object({ uri: z.string(), accepted: z.literal(true) }),
  },
  shutdown: { method: 'POST', path: '/api/v1/shutdown', status: 202, response: z.object({ stopping: z.literal(true) }) },
} as const satisfies Record<string, ApiRoute>;

/** The name of a route of {@link API}. */
export type ApiRouteName = keyof typeof API;

type Part<R, K extends 'params' | 'query' | 'body', Side extends 'in' | 'out'> =
  R extends Record<K, infer S extends z.ZodType> ? (Side extends 'in' ? z.input<S> : z.output<S>) : undefined;

type Field<K extends string, T> = [T] extends [undefined] ? { readonly [P in K]?: undefined } : { readonly [P in K]: T };

/** What a client sends to a route: its path parameters, query and body, as the schemas take them. */
export type ApiRequest<N extends ApiRouteName> = Field<'params', Part<(typeof API)[N], 'params', 'in'>> &
  Field<'query', Part<(typeof API)[N], 'query', 'in'>> &
  Field<'body', Part<(typeof API)[N], 'body', 'in'>>;

/** What a server handler gets: the same, validated and with defaults filled in, and who sent it. */
export interface ApiInput<N extends ApiRouteName> {
  readonly params: Part<(typeof API)[N], 'params', 'out'>;
  readonly query: Part<(typeof API)[N], 'query', 'out'>;
  readonly body: Part<(typeof API)[N], 'body', 'out'>;
  /** Who made the request: the actor its audit entries record (see server/api-caller.ts). */
  readonly caller: string;
}

/** The answer of a route. */
export type ApiResponse<N extends ApiRouteName> = z.output<(typeof API)[N]['response']>;
