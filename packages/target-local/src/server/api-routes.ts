import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { z } from 'zod';
import { MlDeployError, type Rollout } from '@mldeploy/core';
import { requireMethod } from '@mldeploy/serving';
import { callerOf } from './api-caller.js';
import { API, type ApiInput, type ApiResponse, type ApiRoute, type ApiRouteName } from './api-schema.js';
import type { ControlPlane } from './control-plane.js';
import type { DeploymentChange, DeploymentView, EndpointView, RevisionView } from './control-plane-views.js';
import { DASHBOARD_LOGIN_PATH, type Dashboard } from './dashboard/dashboard.js';
import type { ShadowSummary } from './shadow-stats.js';

/** A handler per route of {@link API}: a route without one, or one answering another shape, fails to compile. */
export type ApiHandlers = {
  readonly [N in ApiRouteName]: (input: ApiInput<N>, reply: FastifyReply) => ApiResponse<N> | Promise<ApiResponse<N>>;
};

/** What the REST API needs besides the control plane. */
export interface ApiContext {
  readonly plane: ControlPlane;
  readonly version: string;
  readonly home: string;
  readonly isReady: () => boolean;
  /** The gateway's base URL, which deployment and endpoint URLs are built on. */
  readonly gatewayUrl: () => string;
  /** Called once the shutdown request has been answered. */
  readonly onShutdown: () => void;
  /** The dashboard's sign-in and the other targets it shows. */
  readonly dashboard: Dashboard;
}

const METHODS: readonly HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Which routes {@link registerApi} registers, and who their caller is. */
export interface ApiRegistration {
  /** Only these routes (default: all). */
  readonly only?: readonly ApiRouteName[];
  /** The caller of a request, as audit entries name it (default: {@link callerOf} its headers). */
  readonly caller?: (request: FastifyRequest) => string;
  /** What is sent of a handler's answer (default: all of it). */
  readonly answer?: (value: unknown) => unknown;
}

/**
 * Registers the routes of {@link API} on `app` (under its prefix, if it has one): parameters,
 * query and body are checked with the route's schemas before the handler runs (so a bad request
 * changes nothing), and every other method on a route's path answers 405 before its body is read.
 */
export function registerApi(app: FastifyInstance, handlers: ApiHandlers, registration: ApiRegistration = {}): void {
  const methodsByPath = new Map<string, HTTPMethods[]>();
  const caller = registration.caller ?? ((request: FastifyRequest) => callerOf(request.headers));
  for (const name of registration.only ?? (Object.keys(API) as ApiRouteName[])) {
    const route: ApiRoute = API[name];
    const handler = handlers[name] as (input: unknown, reply: FastifyReply) => unknown;
    methodsByPath.set(route.path, [
      ...(methodsByPath.get(route.path) ?? []),
      route.method,
      ...(route.method === 'GET' ? ['HEAD' as const] : []),
    ]);
    app.route({
      method: route.method,
      url: route.path,
      handler: async (request, reply) => {
        const input = {
          params: route.params === undefined ? undefined : check(route.params, request.params),
          query: route.query === undefined ? undefined : check(route.query, request.query),
          // No body at all (no Content-Type) reads as an empty object, as it always has.
          body: route.body === undefined ? undefined : check(route.body, request.body ?? {}),
          caller: caller(request),
        };
        reply.code(route.status);
        const answer = await handler(input, reply);
        return registration.answer === undefined ? answer : registration.answer(answer);
      },
    });
  }
  for (const [path, allowed] of methodsByPath) refuseOtherMethods(app, path, allowed);
}

/**
 * Answers every method but `allowed` on `path` with 405 `METHOD_NOT_ALLOWED` and an `Allow`
 * header (Fastify alone would answer 404).
 */
export function refuseOtherMethods(app: FastifyInstance, path: string, allowed: readonly HTTPMethods[]): void {
  app.route({
    method: METHODS.filter((m) => !allowed.includes(m)),
    url: path,
    // onRequest runs before the body is read or parsed: the method is refused first.
    onRequest: (request, _reply, done) => {
      requireMethod(request.method, allowed, path);
      done();
    },
    handler: () => undefined,
  });
}

/** Parses a request part with its schema; a violation is `INVALID_PARAMETER_VALUE` naming every problem. */
function check<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new MlDeployError('INVALID_PARAMETER_VALUE', result.error.issues.map((issue) => issue.message).join('; '), {
      hint: 'See docs/server-api.md for what each route takes.',
    });
  return result.data;
}

/** The control plane's operations behind the routes, answering in the wire format (snake_case). */
export function apiHandlers(context: ApiContext): ApiHandlers {
  const { plane } = context;
  const deployment = (view: DeploymentView): ApiResponse<'getDeployment'> => wireDeployment(view, context.gatewayUrl());
  const endpoint = (view: EndpointView): ApiResponse<'getEndpoint'> => wireEndpoint(view, context.gatewayUrl());
  return {
    health: (_input, reply) => {
      const ready = context.isReady();
      reply.code(ready ? 200 : 503);
      return { status: ready ? 'ok' : 'starting', version: context.version, pid: process.pid, home: context.home };
    },
    listDeployments: () => ({ deployments: plane.listDeployments().map(deployment) }),
    createDeployment: async ({ body, caller }) =>
      deployment(await plane.createDeployment({ name: body.name, modelUri: body.model_uri, ...modelSettings(body) }, caller)),
    getDeployment: ({ params }) => deployment(plane.getDeployment(params.name)),
    updateDeployment: async ({ params, body, caller }) =>
      deployment(await plane.updateDeployment(params.name, { modelUri: body.model_uri, ...modelSettings(body) }, caller)),
    deleteDeployment: async ({ params, caller }) => {
      await plane.deleteDeployment(params.name, caller);
      return { name: params.name, deleted: true };
    },
    listRevisions: ({ params }) => ({ revisions: plane.history(params.name).map(wireRevision) }),
    rollback: async ({ params, body, caller }) => deployment(await plane.rollback(params.name, body.to_revision, caller)),
    logs: async ({ params, query }) => ({ name: params.name, entries: await plane.logs(params.name, query.tail) }),
    listEndpoints: async () => ({ endpoints: (await plane.listEndpoints()).map(endpoint) }),
    createEndpoint: async ({ body, caller }) => endpoint(await plane.createEndpoint(body.name, body.config, caller)),
    getEndpoint: async ({ params }) => endpoint(await plane.getEndpoint(params.name)),
    updateEndpoint: async ({ params, body, caller }) => endpoint(await plane.updateEndpoint(params.name, body.config, caller)),
    deleteEndpoint: async ({ params, caller }) => {
      await plane.deleteEndpoint(params.name, caller);
      return { name: params.name, deleted: true };
    },
    audit: ({ query }) => ({ entries: plane.audit(query.subject, query.limit) }),
    startRollout: async ({ body, caller }) => wireRollout(await plane.startRollout(body, caller)),
    listRollouts: ({ query }) => ({ rollouts: plane.listRollouts(query.endpoint).map(wireRollout) }),
    getRollout: ({ params }) => wireRollout(plane.getRollout(params.id)),
    controlRollout: async ({ params, caller }) => wireRollout(await plane.controlRollout(params.id, params.action, caller)),
    auditExport: ({ query }) => ({ entries: plane.auditPage(query.after, query.limit) }),
    auditVerify: () => plane.verifyAudit(),
    dashboardLogin: ({ caller }) => {
      const { code, expiresAt } = context.dashboard.sessions.issueCode(caller);
      context.dashboard.watch();
      return { url: `${context.gatewayUrl()}${DASHBOARD_LOGIN_PATH}?code=${code}`, expires_at: new Date(expiresAt).toISOString() };
    },
    publishDashboardTarget: ({ body }) => {
      context.dashboard.publish(body);
      return { uri: body.uri, accepted: true };
    },
    shutdown: ({ caller }, reply) => {
      plane.recordShutdown(caller);
      // After the answer has left: the shutdown closes this very server.
      reply.raw.once('close', context.onShutdown);
      return { stopping: true };
    },
  };
}

/** The fields of a create or update body beside `model_uri`, as the control plane takes them. */
function modelSettings(body: ApiInput<'updateDeployment'>['body']): Omit<DeploymentChange, 'modelUri'> {
  return { modelPath: body.model_path, modelVersion: body.model_version, flavor: body.flavor, config: body.config };
}

function wireDeployment(view: DeploymentView, gatewayUrl: string): ApiResponse<'getDeployment'> {
  return {
    name: view.name,
    flavor: view.flavor,
    model_uri: view.modelUri,
    model_version: view.modelVersion,
    revision: view.revision,
    state: view.state,
    ...(view.error === undefined ? {} : { error: view.error }),
    url: deploymentUrl(view, gatewayUrl),
    gateway_url: `${gatewayUrl}/deployments/${view.name}/invocations`,
    replicas: view.replicas,
    live_replicas: view.liveReplicas,
    restarts: view.restarts,
    workers: view.workers.map((w) => ({ pid: w.pid, port: w.port })),
    config: view.config,
    created_at: view.createdAt,
    updated_at: view.updatedAt,
  };
}

/** Its own port's URL; through the gateway for a deployment recorded before deployments had ports (until its next update). */
function deploymentUrl(view: DeploymentView, gatewayUrl: string): string {
  const port = view.config.port;
  return port === 0 ? `${gatewayUrl}/deployments/${view.name}/invocations` : `http://127.0.0.1:${port}/invocations`;
}

function wireShadow(summary: ShadowSummary): NonNullable<ApiResponse<'getEndpoint'>['shadow_comparison']> {
  return {
    deployment: summary.deployment,
    mirrored: summary.mirrored,
    errors: summary.errors,
    agreement_rate: summary.agreementRate,
    mean_abs_difference: summary.meanAbsDifference,
    max_abs_difference: summary.maxAbsDifference,
    mean_latency_difference_ms: summary.meanLatencyDifferenceMs,
  };
}

function wireEndpoint(view: EndpointView, gatewayUrl: string): ApiResponse<'getEndpoint'> {
  return {
    name: view.name,
    traffic: view.config.traffic,
    sticky_header: view.config.stickyHeader,
    shadow: view.config.shadow,
    ...(view.shadowComparison === undefined ? {} : { shadow_comparison: wireShadow(view.shadowComparison) }),
    url: `${gatewayUrl}/endpoints/${view.name}/invocations`,
    created_at: view.createdAt,
    updated_at: view.updatedAt,
  };
}

function wireRollout(rollout: Rollout): ApiResponse<'getRollout'> {
  return { ...rollout, decisions: rollout.decisions.map((decision) => ({ ...decision })) };
}

function wireRevision(view: RevisionView): ApiResponse<'listRevisions'>['revisions'][number] {
  return {
    revision: view.revision,
    current: view.current,
    reason: view.reason,
    model_uri: view.modelUri,
    model_version: view.modelVersion,
    flavor: view.flavor,
    config: view.config,
    created_at: view.createdAt,
  };
}
