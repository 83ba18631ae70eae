import { randomBytes } from 'node:crypto';
import {
  MlDeployError,
  rolloutPhases,
  type Rollout,
  type RolloutAction,
  type RolloutDecision,
  type RolloutPhase,
  type RolloutRequest,
  type RolloutState,
} from '@mldeploy/core';
import type { MetricsJson } from '../gateway-metrics.js';
import type { Logger } from '../logger.js';
import type { ShadowSummary } from '../shadow-stats.js';
import { KeyedLock } from '../keyed-lock.js';
import type { EndpointConfig, RolloutRow, StateStore } from '../state-store.js';
import { decidePhase, type RequestWindow } from './rollout-decision.js';
import { EMPTY_COUNTERS, requestCounters, requestWindow, type RequestCounters } from './request-window.js';

/** What the engine needs of the control plane. */
export interface RolloutHost {
  readonly store: StateStore;
  readonly logger: Logger;
  /** Whether the deployment exists and has a revision serving. */
  serves(deployment: string): boolean;
  /** Routes the endpoint by `config` (recorded, with `action` by `actor` in the audit log) and waits until the gateway does. */
  route(endpoint: string, config: EndpointConfig, action: string, actor: string): Promise<void>;
  /** The gateway's request counters; undefined while it does not answer. */
  requests(): Promise<MetricsJson | undefined>;
  shadows(): Promise<Record<string, ShadowSummary>>;
}

/** What the engine keeps to resume a phase after a restart. */
interface Progress {
  /** The endpoint's config before the rollout: what a roll back or an abort restores. */
  readonly original: EndpointConfig;
  readonly phase: number;
  /** When the phase began (or was resumed), ISO. */
  readonly phaseStartedAt: string;
  /** The counters at the phase's start; null until the gateway first answered in this phase. */
  readonly baseline: { readonly candidate: RequestCounters; readonly current: RequestCounters } | null;
  /** The current deployment's last window with requests: the comparison once it gets none (at 100 %). */
  readonly reference: RequestWindow | null;
  /** The shadow comparison's counts at the phase's start: the phase is judged on what came after. */
  readonly shadowBaseline?: ShadowCounts | null | undefined;
  /**
   * Whether the endpoint routes as the state says: false from the moment a phase or the end is
   * recorded until the gateway routes by it. Every tick (and a restarted engine) routes again
   * what is not routed, so a crash or a failed route in between cannot leave the endpoint behind.
   */
  readonly routed?: boolean | undefined;
  /** The last check's verdict, shown by status. */
  readonly lastCheck: string | null;
  /** The figures of the last check, for the gates' live values (the dashboard's). */
  readonly lastMetrics?: Readonly<Record<string, number | null>> | null | undefined;
}

/** A shadow comparison's cumulative counts. */
interface ShadowCounts {
  readonly mirrored: number;
  readonly errors: number;
  readonly compared: number;
  readonly agreed: number;
}

function shadowCounts(summary: ShadowSummary | undefined, to: string): ShadowCounts | null {
  if (summary === undefined || summary.deployment !== to) return null;
  const compared = summary.mirrored - summary.errors;
  return { mirrored: summary.mirrored, errors: summary.errors, compared, agreed: Math.round((summary.agreementRate ?? 0) * compared) };
}

const ACTIVE: readonly RolloutState[] = ['running', 'paused'];
const TICK_MS = 1000;

function conflict(message: string, hint: string): MlDeployError {
  return new MlDeployError('RESOURCE_CONFLICT', message, { target: 'local', hint });
}

/**
 * Runs rollouts in the control plane: each moves an endpoint's traffic from the deployment that
 * has it to a candidate, phase by phase (shadow, canary or linear steps, blue/green), checking
 * the policy's gates on the gateway's live metrics of both every second, and promoting or
 * rolling back by itself. Every state and phase is recorded in the store before it takes effect
 * on traffic, so a control plane killed at any point resumes the rollout when it starts again
 * (the bake of the phase in progress starts over).
 */
export class RolloutEngine {
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private stopped = false;
  /** One change at a time per rollout: a tick's decision never lands after a pause or an abort it did not see. */
  private readonly locks = new KeyedLock();

  /** No I/O: {@link resume} starts the clock. */
  constructor(private readonly host: RolloutHost) {}

  /** Starts checking the rollouts that were running when the control plane last stopped. */
  resume(): void {
    this.stopped = false;
    const now = new Date().toISOString();
    for (const row of this.host.store.rolloutRows({ states: ACTIVE })) {
      // The phase in progress bakes again from now: the time the control plane was down is no evidence.
      const progress = JSON.parse(row.progress) as Progress;
      this.save(JSON.parse(row.record) as Rollout, { ...progress, baseline: null, shadowBaseline: null, phaseStartedAt: now });
      this.host.logger.info({ endpoint: row.endpoint, rollout: row.id }, `resuming rollout ${row.id} (${row.state})`);
    }
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** The rollout running (or paused) on `endpoint`, if any: the endpoint is then changed by the engine only. */
  activeOn(endpoint: string): Rollout | undefined {
    const row = this.host.store.rolloutRows({ endpoint, pending: true })[0];
    return row === undefined ? undefined : this.view(row);
  }

  /** The active rollout that moves traffic from or to `deployment`: it may not be changed meanwhile. */
  involving(deployment: string): Rollout | undefined {
    return this.host.store
      .rolloutRows({ pending: true })
      .map((row) => this.view(row))
      .find((r) => r.from === deployment || r.to === deployment);
  }

  async start(request: RolloutRequest, endpoint: { readonly config: EndpointConfig } | undefined, actor: string): Promise<Rollout> {
    if (endpoint === undefined) {
      throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `Endpoint "${request.endpoint}" does not exist on the local target`, {
        target: 'local',
        hint: "A rollout moves an endpoint's traffic: create the endpoint first (create-endpoint -C traffic='{\"current\": 100}').",
      });
    }
    const running = this.activeOn(request.endpoint);
    if (running !== undefined) {
      throw conflict(
        `Endpoint "${request.endpoint}" already has rollout ${running.id} (${running.state})`,
        `Wait for it, or abort it: mldeploy rollout abort --id ${running.id}.`,
      );
    }
    const holders = Object.entries(endpoint.config.traffic).filter(([, weight]) => weight > 0);
    if (holders.length !== 1 || holders[0]![1] !== 100) {
      throw new MlDeployError(
        'RESOURCE_CONFLICT',
        `Endpoint "${request.endpoint}" splits its traffic (${JSON.stringify(endpoint.config.traffic)}); a rollout starts from one deployment at 100 %`,
        { target: 'local', hint: `Send all traffic to one deployment first: update-endpoint -C traffic='{"<name>": 100}'.` },
      );
    }
    const from = holders[0]![0];
    if (from === request.to) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', `Deployment "${request.to}" already has all of ${request.endpoint}'s traffic`, {
        target: 'local',
      });
    }
    if (!this.host.serves(request.to)) {
      throw new MlDeployError('RESOURCE_CONFLICT', `Deployment "${request.to}" does not exist or does not serve on the local target`, {
        target: 'local',
        hint: 'Create the candidate deployment first and let it become ready.',
      });
    }
    const now = new Date().toISOString();
    const phases = rolloutPhases(request.policy);
    const record: Rollout = {
      id: `ro-${randomBytes(5).toString('hex')}`,
      endpoint: request.endpoint,
      from,
      to: request.to,
      policy: request.policy,
      state: 'running',
      step: 0,
      weight: 0,
      phases: phases.length,
      decisions: [{ at: now, step: 0, action: 'promote', reason: `started: ${describePhases(phases)}` }],
      started_at: now,
      updated_at: now,
    };
    // What the current deployment showed on this endpoint so far: the comparison for gates judged
    // while the candidate has all traffic (blue/green, all-at-once), where it gets none.
    const metrics = await this.host.requests();
    const lifetime =
      metrics === undefined
        ? undefined
        : requestWindow(
            EMPTY_COUNTERS,
            requestCounters(metrics, from, (route) => route.startsWith(`endpoint:${request.endpoint}:`)),
          );
    const progress: Progress = {
      original: endpoint.config,
      phase: 0,
      phaseStartedAt: now,
      baseline: null,
      reference: lifetime !== undefined && lifetime.requests > 0 ? lifetime : null,
      lastCheck: null,
      routed: false,
    };
    this.save(record, progress, {
      name: 'rollout-start',
      detail: `${record.id}: ${from} → ${request.to} (${request.policy.strategy})`,
      actor,
    });
    await this.locks.run(record.id, () => this.route(record, progress));
    this.host.logger.info({ endpoint: request.endpoint, rollout: record.id }, `rollout ${record.id} started: ${from} → ${request.to}`);
    return this.get(record.id);
  }

  get(id: string): Rollout {
    const row = this.host.store.rolloutRow(id);
    if (row === undefined) {
      throw new MlDeployError('RESOURCE_DOES_NOT_EXIST', `Rollout "${id}" does not exist on the local target`, {
        target: 'local',
        hint: "See the rollouts with 'mldeploy rollout list'.",
      });
    }
    return this.view(row);
  }

  list(endpoint?: string): Rollout[] {
    return this.host.store.rolloutRows({ endpoint }).map((row) => this.view(row));
  }

  /**
   * Pauses (traffic stays where it is, no gate is checked), resumes (the phase's bake starts
   * over), aborts (traffic back where it started) or promotes (the remaining phases skipped: all
   * traffic to the candidate, the rollout succeeded, by `actor`'s word rather than the gates').
   */
  async control(id: string, action: RolloutAction, actor: string): Promise<Rollout> {
    return this.locks.run(id, () => this.controlNow(id, action, actor));
  }

  private async controlNow(id: string, action: RolloutAction, actor: string): Promise<Rollout> {
    const row = this.host.store.rolloutRow(id);
    if (row === undefined) return this.get(id);
    const record = JSON.parse(row.record) as Rollout;
    const progress = JSON.parse(row.progress) as Progress;
    const allowed = action === 'pause' ? ['running'] : action === 'resume' ? ['paused'] : ACTIVE;
    if (!allowed.includes(record.state)) {
      // A conflict with the rollout's state (409), not unusable stored state (INVALID_STATE, 500).
      throw new MlDeployError(
        'RESOURCE_CONFLICT',
        `Rollout ${id} is ${record.state.replace('_', ' ')}: it cannot be ${action === 'abort' ? 'aborted' : `${action}d`}`,
        {
          target: 'local',
        },
      );
    }
    const now = new Date().toISOString();
    const decision = (reason: string, kind: RolloutDecision['action']): RolloutDecision => ({
      at: now,
      step: record.step,
      action: kind,
      reason,
    });
    if (action === 'abort') {
      await this.finish(
        record,
        progress,
        'aborted',
        decision(`aborted by ${actor}: traffic back to the current deployment`, 'rollback'),
        actor,
      );
    } else if (action === 'promote') {
      await this.finish(
        record,
        progress,
        'succeeded',
        decision(`promoted by ${actor}: the remaining steps skipped, all traffic to ${record.to}`, 'complete'),
        actor,
      );
    } else {
      const state: RolloutState = action === 'pause' ? 'paused' : 'running';
      const next = { ...record, state, updated_at: now, decisions: [...record.decisions, decision(`${action}d by request`, 'hold')] };
      // A resumed phase is judged on what comes after the pause only.
      this.save(next, action === 'resume' ? { ...progress, phaseStartedAt: now, baseline: null, shadowBaseline: null } : progress, {
        name: `rollout-${action}`,
        detail: record.id,
        actor,
      });
    }
    return this.get(id);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, TICK_MS);
    this.timer.unref();
  }

  /** One check of every running rollout (and one more try at routing what is not routed); a failing check is logged and tried again next tick. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const pending = this.host.store.rolloutRows({ pending: true });
      if (pending.length === 0) return;
      const metrics = await this.host.requests();
      const shadows = await this.host.shadows();
      for (const { id } of pending) {
        try {
          await this.locks.run(id, async () => {
            // Read again under the lock: a pause, resume or abort may have come meanwhile.
            const row = this.host.store.rolloutRow(id);
            if (row === undefined) return;
            const record = JSON.parse(row.record) as Rollout;
            const progress = JSON.parse(row.progress) as Progress;
            if (progress.routed === false) await this.route(record, progress);
            else if (record.state === 'running') await this.check(record, progress, metrics, shadows);
          });
        } catch (error) {
          this.host.logger.warn({ rollout: id, err: error }, `rollout ${id}: check failed: ${(error as Error).message}`);
        }
      }
    } finally {
      this.ticking = false;
    }
  }

  private async check(
    record: Rollout,
    progress: Progress,
    metrics: MetricsJson | undefined,
    shadows: Record<string, ShadowSummary>,
  ): Promise<void> {
    if (metrics === undefined) return;
    const phases = rolloutPhases(record.policy);
    const phase = phases[progress.phase]!;
    const endpointRoute = (route: string): boolean => route.startsWith(`endpoint:${record.endpoint}:`);
    const shadowRoute = (route: string): boolean => route === `shadow:${record.endpoint}`;
    const counters = {
      candidate: requestCounters(metrics, record.to, phase.kind === 'shadow' ? shadowRoute : endpointRoute),
      current: requestCounters(metrics, record.from, endpointRoute),
    };
    const now = new Date();
    const shadowNow = shadowCounts(shadows[record.endpoint], record.to);
    if (progress.baseline === null) {
      this.save(record, { ...progress, baseline: counters, shadowBaseline: shadowNow, phaseStartedAt: now.toISOString() });
      return;
    }
    const candidate = requestWindow(progress.baseline.candidate, counters.candidate);
    const current = requestWindow(progress.baseline.current, counters.current);
    if (candidate === undefined || current === undefined) {
      // Counters reset (a new gateway process, a revision replaced): the phase's window starts again.
      this.save(record, {
        ...progress,
        baseline: counters,
        shadowBaseline: shadowNow,
        phaseStartedAt: now.toISOString(),
        lastCheck: 'metrics reset: the bake starts over',
      });
      return;
    }
    const reference = current.requests > 0 ? current : (progress.reference ?? current);
    // The shadow comparison of this phase only: the gateway's counts run on while the shadow stays.
    const base = progress.shadowBaseline ?? { mirrored: 0, errors: 0, compared: 0, agreed: 0 };
    const shadow =
      phase.kind === 'shadow' && shadowNow !== null && shadowNow.mirrored >= base.mirrored
        ? {
            mirrored: shadowNow.mirrored - base.mirrored,
            errors: shadowNow.errors - base.errors,
            agreementRate:
              shadowNow.compared > base.compared ? (shadowNow.agreed - base.agreed) / (shadowNow.compared - base.compared) : null,
          }
        : undefined;
    const decision = decidePhase(record.policy, {
      phase,
      elapsedSeconds: (now.getTime() - Date.parse(progress.phaseStartedAt)) / 1000,
      candidate,
      current: reference,
      shadow,
    });
    const at = now.toISOString();
    const entry: RolloutDecision = {
      at,
      step: progress.phase,
      action: decision.action,
      reason: decision.reason,
      metrics: decision.metrics,
    };
    if (decision.action === 'hold') {
      this.save(
        { ...record, updated_at: at },
        {
          ...progress,
          reference: current.requests > 0 ? current : progress.reference,
          lastCheck: decision.reason,
          lastMetrics: decision.metrics,
        },
      );
      return;
    }
    if (decision.action === 'rollback') {
      await this.finish(record, progress, 'rolled_back', entry);
      return;
    }
    const next = phases[progress.phase + 1];
    if (next === undefined) {
      await this.finish(record, progress, 'succeeded', { ...entry, action: 'complete' });
      return;
    }
    const promoted: Rollout = { ...record, step: progress.phase + 1, updated_at: at, decisions: [...record.decisions, entry] };
    const nextProgress: Progress = {
      ...progress,
      phase: progress.phase + 1,
      phaseStartedAt: at,
      baseline: null,
      shadowBaseline: null,
      reference: current.requests > 0 ? current : progress.reference,
      lastCheck: null,
      routed: false,
    };
    this.save(promoted, nextProgress, { name: 'rollout-step', detail: `${record.id}: ${decision.reason}` });
    await this.route(promoted, nextProgress);
    this.host.logger.info({ endpoint: record.endpoint, rollout: record.id }, `rollout ${record.id}: promoted: ${decision.reason}`);
  }

  /**
   * Routes the endpoint as the rollout's recorded state wants it (its phase, or its end), then
   * records that it does. Called right after the state is recorded, and again by every tick
   * while the route has not been made (a failed route, a crash in between).
   */
  private async route(record: Rollout, progress: Progress): Promise<void> {
    const { original } = progress;
    // A shadow of the user's stays, unless it is the candidate's own.
    const userShadow = original.shadow !== null && original.shadow.deployment !== record.to ? original.shadow : null;
    let config: EndpointConfig;
    let weight: number;
    if (record.state === 'succeeded') {
      config = { ...original, shadow: userShadow, traffic: { [record.to]: 100 } };
      weight = 100;
    } else if (record.state !== 'running' && record.state !== 'paused') {
      config = original;
      weight = 0;
    } else {
      const phase = rolloutPhases(record.policy)[progress.phase]!;
      weight = phase.kind === 'shadow' ? 0 : phase.weight;
      config =
        phase.kind === 'shadow'
          ? { ...original, shadow: { deployment: record.to, percent: phase.weight } }
          : {
              ...original,
              shadow: userShadow,
              traffic: phase.weight === 100 ? { [record.to]: 100 } : { [record.from]: 100 - phase.weight, [record.to]: phase.weight },
            };
    }
    // Every traffic move is a `rollout-step` (with the endpoint before and after); the end itself
    // is its own entry (`rollout-succeeded`, …, recorded by finish), not a second one of that name.
    await this.host.route(record.endpoint, config, 'rollout-step', `rollout:${record.id}`);
    this.save({ ...record, weight }, { ...progress, routed: true });
  }

  /** Ends a rollout: all traffic to the candidate (succeeded) or back to where it started (the rest); by `actor` when a caller ended it. */
  private async finish(record: Rollout, progress: Progress, state: RolloutState, decision: RolloutDecision, actor?: string): Promise<void> {
    const done: Rollout = { ...record, state, updated_at: decision.at, decisions: [...record.decisions, decision] };
    // Recorded first, as not routed: if the route fails or the control plane dies now, the next
    // tick (of this or the next control plane) routes the endpoint by the end state.
    const ended: Progress = {
      ...progress,
      lastCheck: decision.reason,
      lastMetrics: (decision.metrics as Progress['lastMetrics']) ?? progress.lastMetrics,
      routed: false,
    };
    this.save(done, ended, { name: `rollout-${state.replace('_', '-')}`, detail: `${record.id}: ${decision.reason}`, actor });
    await this.route(done, ended);
    this.host.logger[state === 'succeeded' ? 'info' : 'warn'](
      { endpoint: record.endpoint, rollout: record.id },
      `rollout ${record.id} ${state.replace('_', ' ')}: ${decision.reason}`,
    );
  }

  private save(record: Rollout, progress: Progress, action?: { name: string; detail: string; actor?: string }): void {
    const row: RolloutRow = {
      id: record.id,
      endpoint: record.endpoint,
      state: record.state,
      record: JSON.stringify(record),
      progress: JSON.stringify(progress),
      routed: progress.routed === false ? 0 : 1,
      started_at: record.started_at,
      updated_at: record.updated_at,
    };
    this.host.store.putRollout(row, action);
  }

  private view(row: RolloutRow): Rollout {
    const record = JSON.parse(row.record) as Rollout;
    const progress = JSON.parse(row.progress) as Progress;
    return { ...record, last_check: progress.lastCheck, last_metrics: progress.lastMetrics ?? null };
  }
}

function describePhases(phases: readonly RolloutPhase[]): string {
  return phases.map((p) => `${p.kind === 'shadow' ? `shadow ${p.weight} %` : `${p.weight} %`} for ${p.bakeSeconds} s`).join(', then ');
}
