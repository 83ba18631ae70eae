import { randomBytes } from 'node:crypto';
import {
  MlDeployError,
  rolloutPhases,
  type Rollout,
  type RolloutDecision,
  type RolloutPhase,
  type RolloutRequest,
  type RolloutState,
} from '@mldeploy/core';
import type { MetricsJson } from '../gateway-metrics.js';
import type { Logger } from '../logger.js';
import type { ShadowSummary } from '../shadow-stats.js';
import type { EndpointConfig, RolloutRow, StateStore } from '../state-store.js';
import { decidePhase, type RequestWindow } from './rollout-decision.js';
import { requestCounters, requestWindow, type RequestCounters } from './request-window.js';

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
  /** The last check's verdict, shown by status. */
  readonly lastCheck: string | null;
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

  /** No I/O: {@link resume} starts the clock. */
  constructor(private readonly host: RolloutHost) {}

  /** Starts checking the rollouts that were running when the control plane last stopped. */
  resume(): void {
    this.stopped = false;
    const active = this.host.store.rolloutRows({ states: ACTIVE });
    for (const row of active)
      this.host.logger.info({ endpoint: row.endpoint, rollout: row.id }, `resuming rollout ${row.id} (${row.state})`);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** The rollout running (or paused) on `endpoint`, if any: the endpoint is then changed by the engine only. */
  activeOn(endpoint: string): Rollout | undefined {
    const row = this.host.store.rolloutRows({ endpoint, states: ACTIVE })[0];
    return row === undefined ? undefined : this.view(row);
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
        'INVALID_STATE',
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
      throw new MlDeployError('INVALID_STATE', `Deployment "${request.to}" does not exist or does not serve on the local target`, {
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
    const progress: Progress = {
      original: endpoint.config,
      phase: 0,
      phaseStartedAt: now,
      baseline: null,
      reference: null,
      lastCheck: null,
    };
    this.save(record, progress, {
      name: 'rollout-start',
      detail: `${record.id}: ${from} → ${request.to} (${request.policy.strategy})`,
      actor,
    });
    await this.enterPhase(record, progress, phases[0]!);
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

  /** Pauses (traffic stays where it is, no gate is checked), resumes (the phase's bake starts over) or aborts (traffic back where it started). */
  async control(id: string, action: 'pause' | 'resume' | 'abort', actor: string): Promise<Rollout> {
    const row = this.host.store.rolloutRow(id);
    if (row === undefined) return this.get(id);
    const record = JSON.parse(row.record) as Rollout;
    const progress = JSON.parse(row.progress) as Progress;
    const allowed = action === 'pause' ? ['running'] : action === 'resume' ? ['paused'] : ACTIVE;
    if (!allowed.includes(record.state)) {
      throw new MlDeployError(
        'INVALID_STATE',
        `Rollout ${id} is ${record.state}: it cannot be ${action === 'abort' ? 'aborted' : `${action}d`}`,
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
      await this.finish(record, progress, 'aborted', decision(`aborted by ${actor}: traffic back to the current deployment`, 'rollback'));
    } else {
      const state: RolloutState = action === 'pause' ? 'paused' : 'running';
      const next = { ...record, state, updated_at: now, decisions: [...record.decisions, decision(`${action}d by request`, 'hold')] };
      // A resumed phase is judged on what comes after the pause only.
      this.save(next, action === 'resume' ? { ...progress, phaseStartedAt: now, baseline: null } : progress, {
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

  /** One check of every running rollout; a failing check is logged and tried again next tick. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const running = this.host.store.rolloutRows({ states: ['running'] });
      if (running.length === 0) return;
      const metrics = await this.host.requests();
      const shadows = await this.host.shadows();
      for (const row of running) {
        try {
          await this.check(JSON.parse(row.record) as Rollout, JSON.parse(row.progress) as Progress, metrics, shadows);
        } catch (error) {
          this.host.logger.warn({ rollout: row.id, err: error }, `rollout ${row.id}: check failed: ${(error as Error).message}`);
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
    if (progress.baseline === null) {
      this.save(record, { ...progress, baseline: counters, phaseStartedAt: now.toISOString() });
      return;
    }
    const candidate = requestWindow(progress.baseline.candidate, counters.candidate);
    const current = requestWindow(progress.baseline.current, counters.current);
    if (candidate === undefined || current === undefined) {
      // Counters reset (a new gateway process, a revision replaced): the phase's window starts again.
      this.save(record, {
        ...progress,
        baseline: counters,
        phaseStartedAt: now.toISOString(),
        lastCheck: 'metrics reset: the bake starts over',
      });
      return;
    }
    const reference = current.requests > 0 ? current : (progress.reference ?? current);
    const shadow = shadows[record.endpoint];
    const decision = decidePhase(record.policy, {
      phase,
      elapsedSeconds: (now.getTime() - Date.parse(progress.phaseStartedAt)) / 1000,
      candidate,
      current: reference,
      shadow:
        phase.kind === 'shadow' && shadow !== undefined && shadow.deployment === record.to
          ? { mirrored: shadow.mirrored, errors: shadow.errors, agreementRate: shadow.agreementRate }
          : undefined,
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
        { ...progress, reference: current.requests > 0 ? current : progress.reference, lastCheck: decision.reason },
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
      reference: current.requests > 0 ? current : progress.reference,
      lastCheck: null,
    };
    this.save(promoted, nextProgress, { name: 'rollout-step', detail: `${record.id}: ${decision.reason}` });
    await this.enterPhase(promoted, nextProgress, next);
    this.host.logger.info({ endpoint: record.endpoint, rollout: record.id }, `rollout ${record.id}: promoted: ${decision.reason}`);
  }

  /** Routes the endpoint as `phase` wants it. */
  private async enterPhase(record: Rollout, progress: Progress, phase: RolloutPhase): Promise<void> {
    const { original } = progress;
    const config: EndpointConfig =
      phase.kind === 'shadow'
        ? { ...original, shadow: { deployment: record.to, percent: phase.weight } }
        : {
            ...original,
            shadow: null,
            traffic: phase.weight === 100 ? { [record.to]: 100 } : { [record.from]: 100 - phase.weight, [record.to]: phase.weight },
          };
    await this.host.route(record.endpoint, config, 'rollout-step', `rollout:${record.id}`);
    const weight = phase.kind === 'shadow' ? 0 : phase.weight;
    this.save({ ...record, weight }, progress);
  }

  /** Ends a rollout: all traffic to the candidate (succeeded) or back to where it started (the rest). */
  private async finish(record: Rollout, progress: Progress, state: RolloutState, decision: RolloutDecision): Promise<void> {
    const config: EndpointConfig =
      state === 'succeeded' ? { ...progress.original, shadow: null, traffic: { [record.to]: 100 } } : progress.original;
    const done: Rollout = {
      ...record,
      state,
      weight: state === 'succeeded' ? 100 : 0,
      updated_at: decision.at,
      decisions: [...record.decisions, decision],
    };
    // Recorded first: a control plane killed between the two routes the endpoint by the rollout's end state at its next start.
    this.save(
      done,
      { ...progress, lastCheck: decision.reason },
      { name: `rollout-${state.replace('_', '-')}`, detail: `${record.id}: ${decision.reason}` },
    );
    await this.host.route(record.endpoint, config, `rollout-${state.replace('_', '-')}`, `rollout:${record.id}`);
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
      started_at: record.started_at,
      updated_at: record.updated_at,
    };
    this.host.store.putRollout(row, action);
  }

  private view(row: RolloutRow): Rollout {
    const record = JSON.parse(row.record) as Rollout;
    const progress = JSON.parse(row.progress) as Progress;
    return { ...record, last_check: progress.lastCheck };
  }
}

function describePhases(phases: readonly RolloutPhase[]): string {
  return phases.map((p) => `${p.kind === 'shadow' ? `shadow ${p.weight} %` : `${p.weight} %`} for ${p.bakeSeconds} s`).join(', then ');
}
