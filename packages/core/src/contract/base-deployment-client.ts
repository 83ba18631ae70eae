import { MlDeployError } from '../errors/index.js';
import type { PredictionInput } from './prediction-input.js';
import type { PredictionsResponse } from './predictions-response.js';
import type { Rollout, RolloutAction, RolloutRequest } from './rollout.js';
import { parseTargetUri } from './target-uri.js';

/** Target-specific settings: values are strings from the CLI (`-C key=value`), any JSON from the API. */
export type DeploymentConfig = Readonly<Record<string, unknown>>;

/**
 * A deployment as a target reports it. `name` is always there; create and update also return the
 * `flavor`. Targets add their own fields (state, url, revision, …).
 */
export interface Deployment {
  readonly name: string;
  readonly flavor?: string | null;
  readonly [key: string]: unknown;
}

/** An endpoint: a layer above deployments that splits traffic between them. */
export interface Endpoint {
  readonly name: string;
  readonly [key: string]: unknown;
}

/** Options of `createDeployment`. */
export interface CreateDeploymentOptions {
  /** The model flavor to serve; the target picks one when omitted. */
  readonly flavor?: string | undefined;
  readonly config?: DeploymentConfig | undefined;
  /** The endpoint to create the deployment under, for targets that nest deployments. */
  readonly endpoint?: string | undefined;
}

/** Options of `updateDeployment`: any of the model, its flavor and the config may change. */
export interface UpdateDeploymentOptions extends CreateDeploymentOptions {
  readonly modelUri?: string | undefined;
}

/** Options of calls that take only an endpoint. */
export interface EndpointOption {
  readonly endpoint?: string | undefined;
}

/** Options of `deleteDeployment`. */
export interface DeleteDeploymentOptions extends EndpointOption {
  readonly config?: DeploymentConfig | undefined;
}

const BRAND = Symbol.for('mldeploy.BaseDeploymentClient');

/**
 * The deployment client every target implements: MLflow's `BaseDeploymentClient`, typed and
 * async. A target plugin subclasses it and implements the six abstract methods; the endpoint
 * methods, `predictStream` and `explain` are optional and throw `NOT_IMPLEMENTED` naming the
 * target and method until a plugin overrides them.
 *
 * Contract for implementers:
 * - `createDeployment` returns only once the deployment can serve predictions, and throws
 *   `RESOURCE_ALREADY_EXISTS` if the name is taken.
 * - `getDeployment` throws `RESOURCE_DOES_NOT_EXIST` for an unknown name.
 * - `deleteDeployment` is idempotent: deleting a missing deployment succeeds.
 * - `predict` is safe to call concurrently.
 * - The constructor does no I/O.
 */
export abstract class BaseDeploymentClient {
  /** The target URI exactly as the user gave it, suffix included. */
  readonly targetUri: string;
  /** The target (plugin) name. */
  readonly target: string;

  constructor(targetUri: string) {
    this.targetUri = targetUri;
    this.target = parseTargetUri(targetUri).target;
  }

  /** Deploys `modelUri` as `name`; resolves when the deployment can serve predictions. */
  abstract createDeployment(name: string, modelUri: string, options?: CreateDeploymentOptions): Promise<Deployment>;

  /** Changes a deployment's model, flavor or config; resolves when the change serves. */
  abstract updateDeployment(name: string, options?: UpdateDeploymentOptions): Promise<Deployment>;

  /** Deletes a deployment. Idempotent. */
  abstract deleteDeployment(name: string, options?: DeleteDeploymentOptions): Promise<void>;

  /** Lists every deployment (unpaginated). */
  abstract listDeployments(options?: EndpointOption): Promise<Deployment[]>;

  /** Describes one deployment; throws `RESOURCE_DOES_NOT_EXIST` if there is none of that name. */
  abstract getDeployment(name: string, options?: EndpointOption): Promise<Deployment>;

  /** Predicts with a deployment (`deploymentName`) or an endpoint (`options.endpoint`). */
  abstract predict(deploymentName: string | undefined, inputs: PredictionInput, options?: EndpointOption): Promise<PredictionsResponse>;

  /** Streams predictions. Optional. */
  predictStream(
    _deploymentName: string | undefined,
    _inputs: PredictionInput,
    _options?: EndpointOption,
  ): AsyncIterable<Record<string, unknown>> {
    throw this.notImplemented('predictStream');
  }

  /** Explains predictions. Optional. */
  explain(_deploymentName: string | undefined, _inputs: PredictionInput, _options?: EndpointOption): Promise<unknown> {
    return Promise.reject(this.notImplemented('explain'));
  }

  /** Creates an endpoint. Optional. */
  createEndpoint(_name: string, _config?: DeploymentConfig): Promise<Endpoint> {
    return Promise.reject(this.notImplemented('createEndpoint'));
  }

  /** Updates an endpoint, e.g. its traffic split. Optional. */
  updateEndpoint(_endpoint: string, _config?: DeploymentConfig): Promise<Endpoint> {
    return Promise.reject(this.notImplemented('updateEndpoint'));
  }

  /** Deletes an endpoint. Idempotent. Optional. */
  deleteEndpoint(_endpoint: string): Promise<void> {
    return Promise.reject(this.notImplemented('deleteEndpoint'));
  }

  /** Lists endpoints. Optional. */
  listEndpoints(): Promise<Endpoint[]> {
    return Promise.reject(this.notImplemented('listEndpoints'));
  }

  /** Describes one endpoint. Optional. */
  getEndpoint(_endpoint: string): Promise<Endpoint> {
    return Promise.reject(this.notImplemented('getEndpoint'));
  }

  /** Lists a deployment's revisions, oldest first. Optional (mldeploy extension). */
  listRevisions(_name: string): Promise<Record<string, unknown>[]> {
    return Promise.reject(this.notImplemented('listRevisions'));
  }

  /** Serves an earlier revision again, as a new revision. Optional (mldeploy extension). */
  rollbackDeployment(_name: string, _toRevision?: number): Promise<Deployment> {
    return Promise.reject(this.notImplemented('rollbackDeployment'));
  }

  /** The last `tail` records of a deployment's logs (structured: time, event, message, …). Optional (mldeploy extension). */
  getLogs(_name: string, _tail?: number): Promise<Record<string, unknown>[]> {
    return Promise.reject(this.notImplemented('getLogs'));
  }

  /** Starts a metric-gated rollout of an endpoint's traffic to another deployment. Optional (mldeploy extension). */
  startRollout(_request: RolloutRequest): Promise<Rollout> {
    return Promise.reject(this.notImplemented('startRollout'));
  }

  /** Describes a rollout. Optional (mldeploy extension). */
  getRollout(_id: string): Promise<Rollout> {
    return Promise.reject(this.notImplemented('getRollout'));
  }

  /** Lists rollouts, newest first; of one endpoint when given. Optional (mldeploy extension). */
  listRollouts(_endpoint?: string): Promise<Rollout[]> {
    return Promise.reject(this.notImplemented('listRollouts'));
  }

  /**
   * Pauses, resumes, aborts (traffic back to where it started) or promotes (all traffic to the
   * candidate now) a rollout under way. Optional (mldeploy extension).
   */
  controlRollout(_id: string, _action: RolloutAction): Promise<Rollout> {
    return Promise.reject(this.notImplemented('controlRollout'));
  }

  /** The error optional methods throw when a target does not implement them. */
  protected notImplemented(method: string): MlDeployError {
    return new MlDeployError('NOT_IMPLEMENTED', `The "${this.target}" target does not implement ${method}.`, {
      target: this.target,
      hint: `Run 'mldeploy help -t ${this.target}' to see what this target supports.`,
    });
  }
}

Object.defineProperty(BaseDeploymentClient.prototype, BRAND, { value: true });

/**
 * Whether `value` is a class that extends {@link BaseDeploymentClient} (from any copy of
 * mldeploy) and is not the base class itself.
 */
export function isDeploymentClientClass(value: unknown): value is new (targetUri: string) => BaseDeploymentClient {
  if (typeof value !== 'function' || value === BaseDeploymentClient) return false;
  const prototype: unknown = value.prototype;
  return (
    typeof prototype === 'object' &&
    prototype !== null &&
    (prototype as Record<symbol, unknown>)[BRAND] === true &&
    value.name !== 'BaseDeploymentClient'
  );
}
