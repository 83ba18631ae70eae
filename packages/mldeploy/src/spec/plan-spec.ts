import {
  MlDeployError,
  isRecord,
  toMlDeployError,
  type BaseDeploymentClient,
  type Deployment,
  type DeploymentConfig,
  type Endpoint,
  type ErrorCode,
  type RolloutPolicy,
  type TargetCapabilities,
  type TrafficSplit,
} from '@mldeploy/core';
import { sameValue } from './compare-values.js';
import type { DeploymentSpec, EndpointSpec, Spec, TargetSpec } from './spec-schema.js';

/** A target named in a spec: its client, and what its plugin declares it can do. */
export interface SpecTarget {
  readonly client: BaseDeploymentClient;
  readonly capabilities: TargetCapabilities;
}

/** Gives the client and capabilities of a target URI; contacts nothing (plugins' constructors do no I/O). */
export type TargetOpener = (targetUri: string) => Promise<SpecTarget>;

/** One field that differs: `from` absent when the target lacks it, `to` absent when it goes. */
export interface FieldChange {
  readonly field: string;
  readonly from?: unknown;
  readonly to?: unknown;
}

/** One deployment's share of an endpoint's traffic, before and after. */
export interface TrafficMove {
  readonly deployment: string;
  readonly from: number;
  readonly to: number;
}

/** A staged rollout an endpoint's traffic change goes through: to `to`, by `policy`. */
export interface PlannedRollout {
  readonly to: string;
  readonly policy: RolloutPolicy;
  /**
   * Who runs it: `target`, a target with the rollouts capability (its engine judges the gates on
   * live metrics); `mldeploy`, a target with endpoints but no metrics for mldeploy, whose
   * traffic the CLI moves step by step through the client API (no gates: the target's own
   * guardrails apply, such as SageMaker's deployment_config alarms).
   */
  readonly runBy: 'target' | 'mldeploy';
}

/** What a deployment is created or updated with, besides its model. */
interface DeploymentRequest {
  readonly name: string;
  readonly flavor?: string | undefined;
  /** The spec's whole config: targets merge it over what they have. */
  readonly config?: DeploymentConfig | undefined;
}

/** One change a plan makes, with what the client is called with. */
export type PlannedChange =
  | (DeploymentRequest & { readonly action: 'create'; readonly kind: 'deployment'; readonly model_uri: string })
  | (DeploymentRequest & {
      readonly action: 'update';
      readonly kind: 'deployment';
      readonly fields: readonly FieldChange[];
      /** Sent (with the flavor) when the model or the flavor changes. */
      readonly model_uri?: string | undefined;
    })
  | {
      readonly action: 'create';
      readonly kind: 'endpoint';
      readonly name: string;
      readonly traffic: TrafficSplit;
      readonly config?: DeploymentConfig | undefined;
    }
  | {
      readonly action: 'update';
      readonly kind: 'endpoint';
      readonly name: string;
      readonly moves: readonly TrafficMove[];
      readonly fields: readonly FieldChange[];
      readonly traffic: TrafficSplit;
      /** The traffic now: a rollout's config change (if any) keeps it, and the rollout moves it. */
      readonly current_traffic: TrafficSplit;
      readonly config?: DeploymentConfig | undefined;
      readonly rollout?: PlannedRollout | undefined;
    }
  | { readonly action: 'delete'; readonly kind: 'deployment' | 'endpoint'; readonly name: string };

/** What one target needs. */
interface TargetPlan {
  readonly target: string;
  readonly changes: readonly PlannedChange[];
  /** What the spec gives that the target does not report, so it cannot be compared: `deployment config`, `endpoint shadow`. */
  readonly not_compared: readonly string[];
  /** What the target has that the spec does not name, left alone without `--prune`: `deployment old`. */
  readonly unmanaged: readonly string[];
}

/** What `apply` would change, target by target, in the file's order. */
export interface Plan {
  readonly file: string;
  readonly prune: boolean;
  readonly targets: readonly TargetPlan[];
}

/** A reason the spec cannot be applied as it is, found before anything changes. */
interface Refusal {
  readonly code: ErrorCode;
  readonly message: string;
}

/** Throws one error listing every refusal: nothing has been changed anywhere. */
function refuse(refusals: readonly Refusal[]): never {
  throw new MlDeployError(
    refusals[0]!.code,
    `The spec cannot be applied, and nothing was changed: ${refusals.map((r) => r.message).join('; ')}`,
    {
      hint: 'Change the spec, or the targets it names, and run plan again.',
      details: { problems: refusals.map((r) => r.message) },
    },
  );
}

const staged = (policy: RolloutPolicy | undefined): policy is RolloutPolicy => policy !== undefined && policy.strategy !== 'all-at-once';

/** A policy mldeploy can carry out by moving an endpoint's weights itself: steps and bakes, nothing to measure. */
function steppable(policy: RolloutPolicy): boolean {
  return policy.gates === undefined && policy.strategy !== 'shadow-then-canary';
}

/** What a target's plugin cannot do of what its part of the spec asks, found without contacting it. */
function capabilityRefusals(spec: TargetSpec, capabilities: TargetCapabilities): Refusal[] {
  const refusals: Refusal[] = [];
  const endpoints = Object.keys(spec.endpoints);
  if (endpoints.length > 0 && capabilities.endpoints !== true) {
    refusals.push({
      code: 'NOT_IMPLEMENTED',
      message: `${spec.target}: the spec declares endpoints (${endpoints.join(', ')}), but this target has none (its plugin lacks the 'endpoints' capability)`,
    });
  }
  const withRollouts = [
    ...Object.entries(spec.endpoints)
      .filter(([, e]) => staged(e.rollout))
      .map(([name, e]) => ({ what: `endpoint ${name}`, strategy: e.rollout!.strategy, policy: e.rollout! })),
    ...Object.entries(spec.deployments)
      .filter(([, d]) => staged(d.rollout))
      .map(([name, d]) => ({ what: `deployment ${name}`, strategy: d.rollout!.strategy, policy: d.rollout! })),
  ];
  for (const { what, strategy, policy } of withRollouts) {
    if (capabilities.rollouts !== true) {
      if (what.startsWith('endpoint') && capabilities.endpoints === true && steppable(policy)) continue;
      refusals.push({
        code: 'NOT_IMPLEMENTED',
        message:
          capabilities.endpoints === true && what.startsWith('endpoint')
            ? `${spec.target}: ${what} has a ${strategy} rollout with ${policy.gates === undefined ? 'a shadow phase' : 'gates'}, but this target supplies no live metrics to mldeploy (its plugin lacks the 'rollouts' capability): mldeploy can only step its traffic; drop the gates (and the shadow) and use the target's own guardrails`
            : `${spec.target}: ${what} has a ${strategy} rollout, but this target cannot run rollouts (its plugin lacks the 'rollouts' capability); use strategy all-at-once there`,
      });
    } else if (what.startsWith('deployment')) {
      refusals.push({
        code: 'INVALID_PARAMETER_VALUE',
        message: `${spec.target}: ${what} has a ${strategy} rollout, but a staged rollout moves an endpoint's traffic: deploy the new model as a second deployment and give the endpoint the rollout`,
      });
    }
  }
  return refusals;
}

/** What a target has now, read through its client. */
interface LiveState {
  readonly deployments: ReadonlySet<string>;
  readonly endpoints: ReadonlySet<string>;
}

async function readLiveState(client: BaseDeploymentClient, capabilities: TargetCapabilities): Promise<LiveState> {
  const endpoints = capabilities.endpoints === true ? (await client.listEndpoints()).map((e) => e.name) : [];
  // Some targets (SageMaker) list endpoints among deployments too: they are endpoints.
  const deployments = (await client.listDeployments()).map((d) => d.name).filter((name) => !endpoints.includes(name));
  return { deployments: new Set(deployments), endpoints: new Set(endpoints) };
}

/** Compares a deployment with the spec; notes what the target does not report. */
function deploymentChange(name: string, wanted: DeploymentSpec, live: Deployment, notCompared: Set<string>): PlannedChange | undefined {
  const fields: FieldChange[] = [];
  if (typeof live['model_uri'] !== 'string') notCompared.add('deployment model_uri');
  else if (live['model_uri'] !== wanted.model_uri) fields.push({ field: 'model_uri', from: live['model_uri'], to: wanted.model_uri });
  if (wanted.flavor !== undefined) {
    if (typeof live.flavor !== 'string') notCompared.add('deployment flavor');
    else if (live.flavor !== wanted.flavor) fields.push({ field: 'flavor', from: live.flavor, to: wanted.flavor });
  }
  const config = wanted.config ?? {};
  if (Object.keys(config).length > 0) {
    const reported = live['config'];
    if (!isRecord(reported)) notCompared.add('deployment config');
    else {
      for (const [key, value] of Object.entries(config)) {
        if (reported[key] === undefined || reported[key] === null) fields.push({ field: `config.${key}`, to: value });
        else if (!sameValue(value, reported[key])) fields.push({ field: `config.${key}`, from: reported[key], to: value });
      }
    }
  }
  if (fields.length === 0) return undefined;
  const modelChanges = fields.some((f) => f.field === 'model_uri' || f.field === 'flavor');
  return {
    action: 'update',
    kind: 'deployment',
    name,
    fields,
    model_uri: modelChanges ? wanted.model_uri : undefined,
    flavor: modelChanges ? wanted.flavor : undefined,
    config: wanted.config,
  };
}

/** The deployment a traffic split gives all of its traffic to, if it does. */
function soleDeployment(traffic: TrafficSplit): string | undefined {
  return Object.entries(traffic).find(([, weight]) => weight === 100)?.[0];
}

/** Config without its `null`s: on a create, "must not have" is what a new endpoint is. */
function withoutNulls(config: Readonly<Record<string, unknown>> | undefined): DeploymentConfig | undefined {
  return config === undefined ? undefined : Object.fromEntries(Object.entries(config).filter(([, v]) => v !== null));
}

/** Compares an endpoint with the spec; a staged traffic change needs one deployment at 100. */
function endpointChange(
  target: string,
  name: string,
  wanted: EndpointSpec,
  live: Endpoint,
  notCompared: Set<string>,
  refusals: Refusal[],
  runBy: PlannedRollout['runBy'],
): PlannedChange | undefined {
  const reportedTraffic = live['traffic'];
  const current: Record<string, number> = {};
  const moves: TrafficMove[] = [];
  if (!isRecord(reportedTraffic)) notCompared.add('endpoint traffic');
  else {
    for (const [deployment, weight] of Object.entries(reportedTraffic)) current[deployment] = Number(weight);
    for (const deployment of new Set([...Object.keys(current), ...Object.keys(wanted.traffic)])) {
      const from = current[deployment] ?? 0;
      const to = wanted.traffic[deployment] ?? 0;
      if (from !== to) moves.push({ deployment, from, to });
    }
  }
  const fields: FieldChange[] = [];
  for (const [key, value] of Object.entries(wanted.config ?? {})) {
    const reported = live[key];
    if (reported === undefined) {
      if (value !== null) notCompared.add(`endpoint ${key}`);
    } else if (value === null ? reported !== null : reported === null || !sameValue(value, reported)) {
      fields.push({ field: key, from: reported, to: value });
    }
  }
  if (moves.length === 0 && fields.length === 0) return undefined;
  let rollout: PlannedRollout | undefined;
  if (moves.length > 0 && staged(wanted.rollout)) {
    const to = soleDeployment(wanted.traffic);
    if (to === undefined) {
      refusals.push({
        code: 'INVALID_PARAMETER_VALUE',
        message: `${target}: endpoint ${name} has a ${wanted.rollout.strategy} rollout, which moves all traffic to one deployment, but its new traffic splits it (${Object.entries(
          wanted.traffic,
        )
          .map(([d, w]) => `${d} ${w}`)
          .join(', ')}); give one deployment 100, or use strategy all-at-once`,
      });
    } else if (Object.values(current).filter((w) => w > 0).length !== 1 || !Object.values(current).includes(100)) {
      refusals.push({
        code: 'INVALID_STATE',
        message: `${target}: endpoint ${name} has a ${wanted.rollout.strategy} rollout, which starts from one deployment at 100, but the endpoint splits its traffic now (${Object.entries(
          current,
        )
          .map(([d, w]) => `${d} ${w}`)
          .join(', ')}); move it to one deployment first (all-at-once), then roll out`,
      });
    } else rollout = { to, policy: wanted.rollout, runBy };
  }
  return {
    action: 'update',
    kind: 'endpoint',
    name,
    moves,
    fields,
    traffic: wanted.traffic,
    current_traffic: current,
    config: wanted.config,
    rollout,
  };
}

/** The deployments an endpoint routes to that will not be there: neither in the spec nor on the target, or pruned. */
function routingRefusals(spec: TargetSpec, live: LiveState, pruned: ReadonlySet<string>): Refusal[] {
  const refusals: Refusal[] = [];
  for (const [name, endpoint] of Object.entries(spec.endpoints)) {
    for (const deployment of Object.keys(endpoint.traffic)) {
      if (pruned.has(deployment)) {
        refusals.push({
          code: 'INVALID_PARAMETER_VALUE',
          message: `${spec.target}: --prune would delete deployment ${deployment}, which endpoint ${name} routes to; declare it in the spec`,
        });
      } else if (!Object.hasOwn(spec.deployments, deployment) && !live.deployments.has(deployment)) {
        refusals.push({
          code: 'INVALID_PARAMETER_VALUE',
          message: `${spec.target}: endpoint ${name} routes to deployment ${deployment}, which neither the spec nor the target has`,
        });
      }
    }
  }
  return refusals;
}

/** Plans one target: reads its live state and compares it with its part of the spec. */
async function planTarget(
  spec: TargetSpec,
  { client, capabilities }: SpecTarget,
  prune: boolean,
  refusals: Refusal[],
): Promise<TargetPlan> {
  const live = await readLiveState(client, capabilities);
  const notCompared = new Set<string>();
  const changes: PlannedChange[] = [];
  for (const [name, wanted] of Object.entries(spec.deployments)) {
    if (!live.deployments.has(name)) {
      changes.push({
        action: 'create',
        kind: 'deployment',
        name,
        model_uri: wanted.model_uri,
        flavor: wanted.flavor,
        config: wanted.config,
      });
    } else {
      const change = deploymentChange(name, wanted, await client.getDeployment(name), notCompared);
      if (change !== undefined) changes.push(change);
    }
  }
  for (const [name, wanted] of Object.entries(spec.endpoints)) {
    if (!live.endpoints.has(name)) {
      changes.push({ action: 'create', kind: 'endpoint', name, traffic: wanted.traffic, config: withoutNulls(wanted.config) });
    } else {
      const change = endpointChange(
        spec.target,
        name,
        wanted,
        await client.getEndpoint(name),
        notCompared,
        refusals,
        capabilities.rollouts === true ? 'target' : 'mldeploy',
      );
      if (change !== undefined) changes.push(change);
    }
  }
  const extraEndpoints = [...live.endpoints].filter((name) => !Object.hasOwn(spec.endpoints, name));
  const extraDeployments = [...live.deployments].filter((name) => !Object.hasOwn(spec.deployments, name));
  refusals.push(...routingRefusals(spec, live, new Set(prune ? extraDeployments : [])));
  if (prune) {
    // Endpoints first: a target may refuse to delete a deployment an endpoint routes to.
    for (const name of extraEndpoints) changes.push({ action: 'delete', kind: 'endpoint', name });
    for (const name of extraDeployments) changes.push({ action: 'delete', kind: 'deployment', name });
  }
  return {
    target: spec.target,
    changes,
    not_compared: [...notCompared].sort(),
    unmanaged: prune ? [] : [...extraDeployments.map((n) => `deployment ${n}`), ...extraEndpoints.map((n) => `endpoint ${n}`)],
  };
}

/**
 * Plans a spec: first what each target's plugin can do (nothing contacted), then each target's
 * live state through its client, compared with the spec. Changes nothing.
 *
 * @throws MlDeployError listing every reason the spec cannot be applied (a capability a target
 * lacks, a rollout whose new traffic is split, an endpoint routing to a deployment that will not
 * be there), found before anything changes; or the error of a target that could not be read.
 */
export async function planSpec(file: string, spec: Spec, open: TargetOpener, options: { readonly prune?: boolean } = {}): Promise<Plan> {
  const prune = options.prune === true;
  const opened: SpecTarget[] = [];
  const refusals: Refusal[] = [];
  for (const target of spec.targets) {
    try {
      const specTarget = await open(target.target);
      opened.push(specTarget);
      refusals.push(...capabilityRefusals(target, specTarget.capabilities));
    } catch (error) {
      const typed = toMlDeployError(error);
      refusals.push({ code: typed.code, message: `${target.target}: ${typed.message}` });
    }
  }
  if (refusals.length > 0) refuse(refusals);
  const targets: TargetPlan[] = [];
  for (const [i, target] of spec.targets.entries()) {
    try {
      targets.push(await planTarget(target, opened[i]!, prune, refusals));
    } catch (error) {
      const typed = toMlDeployError(error);
      throw new MlDeployError(typed.code, `Could not read the state of ${target.target}, and nothing was changed: ${typed.message}`, {
        target: typed.target,
        hint: typed.hint,
        details: typed.details,
        cause: error,
      });
    }
  }
  if (refusals.length > 0) refuse(refusals);
  return { file, prune, targets };
}
