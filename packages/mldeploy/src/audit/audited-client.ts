import {
  MlDeployError,
  maskSecrets,
  toMlDeployError,
  type BaseDeploymentClient,
  type CreateDeploymentOptions,
  type DeleteDeploymentOptions,
  type RolloutRequest,
  type UpdateDeploymentOptions,
} from '@mldeploy/core';
import type { AuditJournal } from './audit-journal.js';
import { auditState } from './audit-state.js';

/** How an audited method's call is recorded. */
interface AuditedMethod {
  readonly action: (args: readonly unknown[]) => string;
  /** The deployment, endpoint or rollout the call changes. */
  readonly subject: (args: readonly unknown[]) => string;
  /** What the call asked for, for the entry's detail. */
  readonly request: (args: readonly unknown[]) => Record<string, unknown>;
  /** Reads the subject's state (null when there is none). */
  readonly state: (client: BaseDeploymentClient, args: readonly unknown[]) => Promise<unknown>;
  /** A successful call leaves no state behind (a delete). */
  readonly removes?: boolean;
}

/** The state a read found: null when the subject does not exist, the error's code when it could not be read. */
async function stateOf<T extends Readonly<Record<string, unknown>>>(
  read: () => Promise<T>,
  reduce: (view: T) => unknown = auditState,
): Promise<unknown> {
  try {
    return reduce(await read());
  } catch (error) {
    const typed = toMlDeployError(error);
    return typed.code === 'RESOURCE_DOES_NOT_EXIST' || typed.code === 'ENDPOINT_NOT_FOUND' ? null : { unreadable: typed.code };
  }
}

const deploymentState = (client: BaseDeploymentClient, args: readonly unknown[]): Promise<unknown> => {
  const options = args.find((a, i) => i > 0 && typeof a === 'object' && a !== null) as { endpoint?: string } | undefined;
  return stateOf(() => client.getDeployment(args[0] as string, { endpoint: options?.endpoint }));
};

const endpointState = (client: BaseDeploymentClient, args: readonly unknown[]): Promise<unknown> =>
  stateOf(() => client.getEndpoint(args[0] as string));

const first = (args: readonly unknown[]): string => String(args[0]);

/** The client methods that change something, and how each is recorded. */
const AUDITED: Readonly<Record<string, AuditedMethod>> = {
  createDeployment: {
    action: () => 'create',
    subject: first,
    request: ([, modelUri, options]) => {
      const { flavor, config, endpoint } = (options ?? {}) as CreateDeploymentOptions;
      return { model_uri: modelUri, flavor, config, endpoint };
    },
    state: deploymentState,
  },
  updateDeployment: {
    action: () => 'update',
    subject: first,
    request: ([, options]) => {
      const { modelUri, flavor, config, endpoint } = (options ?? {}) as UpdateDeploymentOptions;
      return { model_uri: modelUri, flavor, config, endpoint };
    },
    state: deploymentState,
  },
  deleteDeployment: {
    action: () => 'delete',
    subject: first,
    request: ([, options]) => {
      const { config, endpoint } = (options ?? {}) as DeleteDeploymentOptions;
      return { config, endpoint };
    },
    state: deploymentState,
    removes: true,
  },
  rollbackDeployment: {
    action: () => 'rollback',
    subject: first,
    request: ([, toRevision]) => ({ to_revision: toRevision }),
    state: deploymentState,
  },
  createEndpoint: {
    action: () => 'create-endpoint',
    subject: first,
    request: ([, config]) => ({ config }),
    state: endpointState,
  },
  updateEndpoint: {
    action: () => 'update-endpoint',
    subject: first,
    request: ([, config]) => ({ config }),
    state: endpointState,
  },
  deleteEndpoint: { action: () => 'delete-endpoint', subject: first, request: () => ({}), state: endpointState, removes: true },
  startRollout: {
    action: () => 'start-rollout',
    subject: ([request]) => (request as RolloutRequest).endpoint,
    request: ([request]) => ({ to: (request as RolloutRequest).to, policy: (request as RolloutRequest).policy }),
    state: (client, [request]) => endpointState(client, [(request as RolloutRequest).endpoint]),
  },
  controlRollout: {
    action: ([, action]) => `${String(action)}-rollout`,
    subject: first,
    request: ([, action]) => ({ action }),
    state: (client, [id]) =>
      stateOf(
        () => client.getRollout(id as string),
        (rollout) => ({ endpoint: rollout.endpoint, to: rollout.to, state: rollout.state, step: rollout.step, weight: rollout.weight }),
      ),
  },
};

/**
 * `client` with every change it makes (create, update, delete, rollback, the endpoint methods,
 * rollouts) appended to `journal`: who (`actor`), the target, the operation, the subject's
 * state before and after (read back from the target), and the result, `ok` or
 * `error: <CODE> <message>`. The log is checked before a change is made, so a log that cannot
 * be appended to stops the change; every other method is the client's own.
 *
 * @throws MlDeployError `INVALID_STATE` (from a change) when the change was made but its entry
 * could not be written.
 */
export function auditedClient(client: BaseDeploymentClient, journal: AuditJournal, actor: string): BaseDeploymentClient {
  const record = async (name: string, method: AuditedMethod, args: readonly unknown[], call: () => unknown): Promise<unknown> => {
    await journal.check();
    const subject = method.subject(args);
    const before = await method.state(client, args);
    /** Appends the entry of the call, which failed with `failure` or (undefined) succeeded. */
    const append = async (failure: unknown): Promise<void> => {
      const typed = failure === undefined ? undefined : toMlDeployError(failure);
      await journal.append({
        actor,
        target: client.targetUri,
        action: method.action(args),
        subject,
        detail: JSON.stringify(maskSecrets(method.request(args))),
        before,
        after: failure === undefined && method.removes === true ? null : await method.state(client, args),
        result: typed === undefined ? 'ok' : `error: ${typed.code} ${typed.message.replace(/\s*\n\s*/g, ' ')}`,
      });
    };
    let result: unknown;
    try {
      result = await call();
    } catch (error) {
      // The caller gets the change's own error, whether or not its entry could be written.
      await append(error).catch(() => undefined);
      throw error;
    }
    try {
      await append(undefined);
    } catch (error) {
      throw new MlDeployError(
        'INVALID_STATE',
        `${name} of "${subject}" was done, but could not be recorded in the audit log ${journal.file}: ${toMlDeployError(error).message}`,
        { cause: error, hint: 'Record it by hand, and check the file and its folder can be written.' },
      );
    }
    return result;
  };
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const method = typeof property === 'string' && Object.hasOwn(AUDITED, property) ? AUDITED[property] : undefined;
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      if (method === undefined) return bound;
      return (...args: unknown[]) => record(property as string, method, args, () => bound(...args));
    },
  });
}
