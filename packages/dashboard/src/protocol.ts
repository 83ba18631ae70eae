/**
 * The dashboard's wire protocol: the paths the control plane serves it on, the JSON it sends (the
 * snapshot stream and the read routes of docs/server-api.md under `/dashboard/api/v1`) and the
 * requests the page makes. The server builds its answers typed as these schemas' inputs; the page
 * parses every message with them, so both sides change together or fail to compile.
 *
 * Records are loose: they name the fields the page shows and keep the rest, so the server can add
 * a field without breaking a page that does not know it yet. `zod/mini` keeps the browser bundle small.
 */
import * as z from 'zod/mini';

/** Where the control plane serves the dashboard's files (`index.html`, `app.js`, `app.css`). */
export const DASHBOARD_PATH = '/dashboard/';
/** The page's session: who it acts as and the token its changes must carry (see {@link sessionSchema}). */
export const SESSION_PATH = '/dashboard/api/session';
/** The read and action routes of the REST API, as the page reaches them (same origin, session cookie). */
export const API_BASE = '/dashboard/api/v1';
/** The Server-Sent Events stream of snapshots. */
export const EVENTS_PATH = '/dashboard/events';
/** The SSE event name each {@link Snapshot} is sent under. */
export const SNAPSHOT_EVENT = 'snapshot';
/** The SSE event that says a snapshot could not be made this time (`{"message"}`); the next may be. */
export const PROBLEM_EVENT = 'problem';
/** The SSE event sent before the stream ends because the session expired: only a new link helps. */
export const SIGNED_OUT_EVENT = 'signed-out';
/**
 * The page's key: the sign-in link leads to `/dashboard/#key=KEY` (a fragment, which browsers never
 * send anywhere), the page keeps it in its origin's storage, and sends it with every request, in
 * {@link KEY_HEADER} (or, for the event stream, which cannot send headers, in `?key=`). The
 * session cookie alone is not enough: browsers send a host's cookies to every port of it, so a
 * server on another local port may see the cookie, but never this key.
 */
export const KEY_HEADER = 'x-mldeploy-dashboard-key';
/** The query parameter of {@link EVENTS_PATH} that carries the page's key. */
export const KEY_QUERY = 'key';
/** The fragment the sign-in leads to: `#key=KEY`. */
export const KEY_FRAGMENT_PREFIX = '#key=';

/** GET {@link SESSION_PATH}. */
export const sessionSchema = z.looseObject({
  /** Who the page's changes are recorded as in the audit log. */
  actor: z.string(),
  /** The control plane's mldeploy version. */
  version: z.string(),
  /** The local target's home folder. */
  home: z.string(),
});

/** The data of a {@link PROBLEM_EVENT}. */
export const problemSchema = z.looseObject({ message: z.string() });

/** An error answer (4xx or 5xx) of any route. */
export const apiErrorSchema = z.looseObject({
  error_code: z.string(),
  message: z.string(),
  hint: z.optional(z.string()),
});

const deploymentStateSchema = z.enum(['ready', 'degraded', 'unavailable', 'failed']);

/** A deployment of the local target, as `GET /api/v1/deployments/{name}` answers it. */
export const deploymentSchema = z.looseObject({
  name: z.string(),
  flavor: z.string(),
  model_uri: z.string(),
  model_version: z.nullable(z.string()),
  revision: z.number(),
  state: deploymentStateSchema,
  /** Why a `failed` deployment could not be brought back. */
  error: z.optional(z.string()),
  url: z.string(),
  gateway_url: z.string(),
  replicas: z.number(),
  live_replicas: z.number(),
  restarts: z.number(),
  workers: z.array(z.looseObject({ pid: z.number(), port: z.number() })),
  config: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  updated_at: z.string(),
});

/** How a shadow deployment's answers compare with the primary's. */
export const shadowComparisonSchema = z.looseObject({
  deployment: z.string(),
  mirrored: z.number(),
  errors: z.number(),
  agreement_rate: z.nullable(z.number()),
  mean_abs_difference: z.nullable(z.number()),
  max_abs_difference: z.nullable(z.number()),
  mean_latency_difference_ms: z.nullable(z.number()),
});

/** An endpoint of the local target, as `GET /api/v1/endpoints/{name}` answers it. */
export const endpointSchema = z.looseObject({
  name: z.string(),
  /** Deployment name → percent of the traffic. */
  traffic: z.record(z.string(), z.number()),
  sticky_header: z.nullable(z.string()),
  shadow: z.nullable(z.looseObject({ deployment: z.string(), percent: z.number() })),
  /** Present while the endpoint shadows a deployment. */
  shadow_comparison: z.optional(shadowComparisonSchema),
  url: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});

/** The gates a rollout policy may set (docs/rollouts.md); each is optional. */
export const GATE_NAMES = [
  'maxErrorRate',
  'maxErrorRateIncrease',
  'maxP99LatencyMs',
  'maxP99LatencyRatio',
  'minShadowAgreement',
  'minRequests',
] as const;

/** One of {@link GATE_NAMES}. */
export type GateName = (typeof GATE_NAMES)[number];

/** A rollout policy as the page reads it (the control plane has checked it already). */
export const rolloutPolicySchema = z.looseObject({
  strategy: z.string(),
  steps: z.optional(z.array(z.looseObject({ weight: z.number(), bakeSeconds: z.number() }))),
  shadow: z.optional(z.looseObject({ percent: z.number(), bakeSeconds: z.number() })),
  gates: z.optional(z.partialRecord(z.enum(GATE_NAMES), z.number())),
});

/** One decision of the rollout engine. */
export const rolloutDecisionSchema = z.looseObject({
  at: z.string(),
  step: z.number(),
  action: z.string(),
  reason: z.string(),
  metrics: z.optional(z.record(z.string(), z.unknown())),
});

/** The states of a rollout; only `running` and `paused` ones can still change. */
export const ROLLOUT_STATES = ['running', 'paused', 'succeeded', 'rolled_back', 'aborted', 'failed'] as const;

/**
 * The live figures the last check saw, over the phase so far. Keys: `candidate_requests`,
 * `candidate_error_rate`, `candidate_p99_ms`, `current_requests`, `current_error_rate`,
 * `current_p99_ms`, and in a shadow phase `shadow_mirrored`, `shadow_agreement`; null when unknown.
 */
export const rolloutMetricsSchema = z.record(z.string(), z.nullable(z.number()));

/** A rollout, as `GET /api/v1/rollouts/{id}` answers it, with the last check's figures. */
export const rolloutSchema = z.looseObject({
  id: z.string(),
  endpoint: z.string(),
  from: z.string(),
  to: z.string(),
  policy: rolloutPolicySchema,
  state: z.enum(ROLLOUT_STATES),
  /** The canary step under way (0-based); -1 during the shadow phase. */
  step: z.number(),
  /** The candidate's share of the traffic now, in percent. */
  weight: z.number(),
  decisions: z.array(rolloutDecisionSchema),
  last_check: z.optional(z.nullable(z.string())),
  /** In the snapshot; a REST answer may leave it out. */
  last_metrics: z.optional(z.nullable(rolloutMetricsSchema)),
  started_at: z.string(),
  updated_at: z.string(),
});

/** What a rollout can be told to do from the dashboard (`promote`: all traffic to the candidate now). */
export const ROLLOUT_ACTIONS = ['pause', 'resume', 'abort', 'promote'] as const;

/** One of {@link ROLLOUT_ACTIONS}: `POST /dashboard/api/v1/rollouts/{id}/{action}` with body `{}`. */
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

/** One revision of a deployment. */
export const revisionSchema = z.looseObject({
  revision: z.number(),
  current: z.boolean(),
  reason: z.string(),
  model_uri: z.string(),
  model_version: z.nullable(z.string()),
  flavor: z.string(),
  config: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});

/** One record of a deployment's log. */
export const logEntrySchema = z.looseObject({
  time: z.string(),
  /** `debug`, `info`, `warn` or `error`; an older control plane sends none (read as `info`). */
  level: z.optional(z.string()),
  deployment: z.string(),
  revision: z.number(),
  replica: z.number(),
  event: z.string(),
  message: z.string(),
});

/** One audit log entry (docs/audit.md); `before` and `after` are the subject's state, or null. */
export const auditEntrySchema = z.looseObject({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  subject: z.string(),
  detail: z.optional(z.string()),
  before: z.unknown(),
  after: z.unknown(),
  result: z.string(),
});

/** GET `deployments/{name}/revisions`. */
export const revisionsAnswerSchema = z.looseObject({ revisions: z.array(revisionSchema) });
/** GET `deployments/{name}/logs?tail=N`: oldest first. */
export const logsAnswerSchema = z.looseObject({ name: z.string(), entries: z.array(logEntrySchema) });
/** GET `audit?subject=&limit=`: oldest first. */
export const auditAnswerSchema = z.looseObject({ entries: z.array(auditEntrySchema) });
/** GET `deployments`. */
export const deploymentsAnswerSchema = z.looseObject({ deployments: z.array(deploymentSchema) });
/** GET `endpoints`. */
export const endpointsAnswerSchema = z.looseObject({ endpoints: z.array(endpointSchema) });
/** GET `rollouts`: newest first. */
export const rolloutsAnswerSchema = z.looseObject({ rollouts: z.array(rolloutSchema) });

/** The body of `POST /dashboard/api/v1/deployments/{name}/rollback`. */
export const rollbackRequestSchema = z.object({ to_revision: z.int().check(z.minimum(1)) });

/** One point of a deployment's series: the gateway's figures over one `interval_seconds`. */
export const pointSchema = z.object({
  /** Unix time, seconds. */
  t: z.number(),
  /** Requests per second. */
  rps: z.number(),
  /** Failed share of the requests, 0–1; null without requests. */
  error_rate: z.nullable(z.number()),
  p50_ms: z.nullable(z.number()),
  p99_ms: z.nullable(z.number()),
});

/**
 * How an endpoint's requests were routed over the last interval: per deployment and rule
 * (`pinned` by the `x-mldeploy-deployment` header, `sticky` by the endpoint's sticky header, or
 * `weighted` by its split), in requests per second.
 */
export const routedSchema = z.object({
  deployment: z.string(),
  rule: z.string(),
  rps: z.number(),
});

/** A named record of another target, shown as it comes. */
const namedRecordSchema = z.looseObject({ name: z.string() });

/** Another target (Kubernetes, SageMaker, …) that `mldeploy dashboard -t URI` feeds in. */
export const remoteTargetSchema = z.looseObject({
  uri: z.string(),
  /** When its figures were last read. */
  updated_at: z.string(),
  /** The last read failed or is overdue: the figures are as of `updated_at`. */
  stale: z.boolean(),
  error: z.nullable(z.string()),
  deployments: z.array(namedRecordSchema),
  endpoints: z.array(namedRecordSchema),
});

/** One message of the {@link EVENTS_PATH} stream: everything the live views show. */
export const snapshotSchema = z.looseObject({
  /** When it was taken (ISO 8601). */
  at: z.string(),
  /** The spacing of the series' points. */
  interval_seconds: z.number(),
  deployments: z.array(deploymentSchema),
  endpoints: z.array(endpointSchema),
  /** Newest first. */
  rollouts: z.array(rolloutSchema),
  /** Per deployment name: the last 10 minutes, oldest first. */
  series: z.record(z.string(), z.array(pointSchema)),
  /** Per endpoint name: how its requests were routed over the last interval (absent before any). */
  routing: z.optional(z.record(z.string(), z.array(routedSchema))),
  targets: z.array(remoteTargetSchema),
});

/** See {@link sessionSchema}. */
export type Session = z.output<typeof sessionSchema>;
/** See {@link apiErrorSchema}. */
export type ApiErrorBody = z.output<typeof apiErrorSchema>;
/** See {@link deploymentSchema}. */
export type Deployment = z.output<typeof deploymentSchema>;
/** One of a deployment's states. */
export type DeploymentState = z.output<typeof deploymentStateSchema>;
/** See {@link endpointSchema}. */
export type Endpoint = z.output<typeof endpointSchema>;
/** See {@link shadowComparisonSchema}. */
export type ShadowComparison = z.output<typeof shadowComparisonSchema>;
/** See {@link rolloutPolicySchema}. */
export type RolloutPolicy = z.output<typeof rolloutPolicySchema>;
/** See {@link rolloutDecisionSchema}. */
export type RolloutDecision = z.output<typeof rolloutDecisionSchema>;
/** See {@link rolloutMetricsSchema}. */
export type RolloutMetrics = z.output<typeof rolloutMetricsSchema>;
/** See {@link rolloutSchema}. */
export type Rollout = z.output<typeof rolloutSchema>;
/** One of {@link ROLLOUT_STATES}. */
export type RolloutState = (typeof ROLLOUT_STATES)[number];
/** See {@link revisionSchema}. */
export type Revision = z.output<typeof revisionSchema>;
/** See {@link logEntrySchema}. */
export type LogEntry = z.output<typeof logEntrySchema>;
/** See {@link auditEntrySchema}. */
export type AuditEntry = z.output<typeof auditEntrySchema>;
/** See {@link rollbackRequestSchema}. */
export type RollbackRequest = z.output<typeof rollbackRequestSchema>;
/** See {@link pointSchema}. */
export type Point = z.output<typeof pointSchema>;
/** See {@link routedSchema}. */
export type Routed = z.output<typeof routedSchema>;
/** See {@link remoteTargetSchema}. */
export type RemoteTarget = z.output<typeof remoteTargetSchema>;
/** See {@link snapshotSchema}. */
export type Snapshot = z.output<typeof snapshotSchema>;
/** What the server builds a snapshot as (the schema's input: extra fields allowed). */
export type SnapshotInput = z.input<typeof snapshotSchema>;
