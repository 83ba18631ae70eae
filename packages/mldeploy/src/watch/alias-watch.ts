import {
  MlDeployError,
  isMlDeployError,
  resolveModelLocation,
  type BaseDeploymentClient,
  type Rollout,
  type RolloutDecision,
  type RolloutPolicy,
} from '@mldeploy/core';
import { followRollout, rolloutFailure } from '../rollouts/follow-rollout.js';

/** What an alias watch follows, and how a new version reaches the endpoint. */
export interface AliasWatch {
  readonly client: BaseDeploymentClient;
  /** The endpoint callers use. */
  readonly endpoint: string;
  /** `models:/<name>@<alias>`. */
  readonly modelUri: string;
  /** How a new version takes the endpoint's traffic. */
  readonly policy: RolloutPolicy;
  /** Deployments are named `<prefix>-v<version>`. */
  readonly prefix: string;
  /** The environment the registry is reached with (MLFLOW_TRACKING_URI, its credentials). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: (line: string) => void;
}

/** What one check did. */
export type CheckOutcome =
  | { readonly kind: 'up-to-date'; readonly version: string }
  | { readonly kind: 'bootstrapped'; readonly version: string; readonly deployment: string }
  | { readonly kind: 'rolled-out'; readonly version: string; readonly deployment: string; readonly rollout: string }
  | { readonly kind: 'rolled-back'; readonly version: string; readonly deployment: string; readonly error: MlDeployError }
  | { readonly kind: 'skipped'; readonly version: string; readonly reason: string };

const ALIAS_URI = /^models:\/([^/@]+)@([^/@]+)$/;

/**
 * Follows a registry alias: each {@link check} resolves `models:/<name>@<alias>` in the MLflow
 * registry (with the caller's credentials: the control plane holds none) and, when it names a
 * version the endpoint does not serve, deploys that version as `<prefix>-v<version>` (pinned:
 * `models:/<name>/<version>`, so the deployment never changes under it) and rolls the endpoint's
 * traffic over to it with the policy. An endpoint that does not exist yet is created on the
 * version. A version whose rollout was rolled back is not tried again until the alias moves.
 */
export class AliasWatcher {
  private readonly name: string;
  private readonly refused = new Set<string>();

  /** No I/O. @throws MlDeployError `INVALID_PARAMETER_VALUE` for a URI that is not `models:/<name>@<alias>`. */
  constructor(private readonly watch: AliasWatch) {
    const match = ALIAS_URI.exec(watch.modelUri);
    if (match === null) {
      throw new MlDeployError(
        'INVALID_PARAMETER_VALUE',
        `An alias watch follows models:/<name>@<alias>, not ${JSON.stringify(watch.modelUri)}`,
        {
          hint: 'For example -m models:/iris@champion.',
        },
      );
    }
    this.name = match[1]!;
  }

  /** Resolves the alias once and acts on it. */
  async check(signal?: AbortSignal): Promise<CheckOutcome> {
    const { registered } = await resolveModelLocation(this.watch.modelUri, this.watch.env, this.watch.client.target);
    if (registered === undefined) {
      throw new MlDeployError('INVALID_PARAMETER_VALUE', `No MLflow registry to resolve ${this.watch.modelUri} in`, {
        hint: 'Set MLFLOW_TRACKING_URI (or MLFLOW_REGISTRY_URI) to the registry, an http(s) URL.',
      });
    }
    const version = registered.version;
    const deployment = `${this.watch.prefix}-v${version}`;
    if (this.refused.has(version))
      return { kind: 'skipped', version, reason: `version ${version} was rolled back; waiting for the alias to move` };
    const { client, endpoint } = this.watch;
    const current = await client.getEndpoint(endpoint).catch((error: unknown) => {
      if (isMlDeployError(error) && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    });
    const traffic = (current?.['traffic'] ?? {}) as Record<string, number>;
    if (traffic[deployment] === 100) return { kind: 'up-to-date', version };
    await this.ensureDeployment(deployment, version);
    if (current === undefined) {
      await client.createEndpoint(endpoint, { traffic: JSON.stringify({ [deployment]: 100 }) });
      this.watch.log(`Endpoint ${endpoint} created on ${deployment} (${this.watch.modelUri} is version ${version})`);
      return { kind: 'bootstrapped', version, deployment };
    }
    const history = await this.rolloutsOf(endpoint);
    const refusedBefore = history.find((r) => r.to === deployment && (r.state === 'rolled_back' || r.state === 'aborted'));
    if (refusedBefore !== undefined) {
      // Recorded by the target, so a restarted watcher does not roll a refused version out again.
      this.refused.add(version);
      return {
        kind: 'skipped',
        version,
        reason: `version ${version} was ${refusedBefore.state.replace('_', ' ')} (rollout ${refusedBefore.id}); waiting for the alias to move`,
      };
    }
    const running = history.find((r) => r.state === 'running' || r.state === 'paused');
    let id: string;
    if (running !== undefined && running.to === deployment) {
      this.watch.log(`Following rollout ${running.id} of ${endpoint} to ${deployment}, already under way`);
      id = running.id;
    } else {
      this.watch.log(
        `${this.watch.modelUri} moved to version ${version}: rolling ${endpoint} over to ${deployment} (${this.watch.policy.strategy})`,
      );
      id = (await client.startRollout({ endpoint, to: deployment, policy: this.watch.policy })).id;
    }
    const ended = await followRollout(
      client,
      id,
      (decision: RolloutDecision) => this.watch.log(`rollout ${id} step ${decision.step}: ${decision.action}: ${decision.reason}`),
      { signal },
    );
    const failure = rolloutFailure(ended);
    if (failure === undefined) return { kind: 'rolled-out', version, deployment, rollout: ended.id };
    this.refused.add(version);
    return { kind: 'rolled-back', version, deployment, error: failure };
  }

  /** The endpoint's rollouts, newest first; none on a target that keeps no rollouts. */
  private async rolloutsOf(endpoint: string): Promise<Rollout[]> {
    try {
      return await this.watch.client.listRollouts(endpoint);
    } catch (error) {
      if (isMlDeployError(error) && error.code === 'NOT_IMPLEMENTED') return [];
      throw error;
    }
  }

  private async ensureDeployment(deployment: string, version: string): Promise<void> {
    const exists = await this.watch.client.getDeployment(deployment).then(
      () => true,
      (error: unknown) => {
        if (isMlDeployError(error) && error.code === 'RESOURCE_DOES_NOT_EXIST') return false;
        throw error;
      },
    );
    if (exists) return;
    this.watch.log(`Deploying ${deployment} from models:/${this.name}/${version}…`);
    await this.watch.client.createDeployment(deployment, `models:/${this.name}/${version}`);
  }
}
