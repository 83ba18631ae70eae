import { request } from 'node:https';
import { request as plainRequest, type RequestOptions } from 'node:http';
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { MlDeployError, isErrorCode } from '@mldeploy/core';
import { classifyKubeError, type KubeOperation } from './kube-errors.js';
import type { KubeConnection } from './load-kube-config.js';

/** The API clients of one connection, and the one place their errors are classified. */
export class KubeApi {
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;

  /** No I/O: the clients connect on their first call. */
  constructor(readonly connection: KubeConnection) {
    this.apps = connection.config.makeApiClient(AppsV1Api);
    this.core = connection.config.makeApiClient(CoreV1Api);
    this.custom = connection.config.makeApiClient(CustomObjectsApi);
  }

  get namespace(): string {
    return this.connection.namespace;
  }

  /**
   * Runs one API call; a failure becomes an {@link MlDeployError} that names what was being done
   * (`create deployments.apps "iris" in namespace "ml"`), and for a 403 the verb and resource the role lacks.
   */
  async call<T>(op: { verb: string; resource: string; name?: string | undefined }, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw classifyKubeError(error, this.operation(op));
    }
  }

  /**
   * Like {@link call}, for the reads of a wait: an error that may pass (the API server busy,
   * throttling, a dropped connection) is handed to `onTransient` and gives `undefined`, so that
   * one blip does not end a rollout (and undo it); the wait's own deadline still applies.
   */
  async poll<T>(
    op: { verb: string; resource: string; name?: string | undefined },
    run: () => Promise<T>,
    onTransient: (error: MlDeployError) => void,
  ): Promise<T | undefined> {
    try {
      return await this.call(op, run);
    } catch (error) {
      if (error instanceof MlDeployError && (error.code === 'TEMPORARILY_UNAVAILABLE' || error.code === 'REQUEST_LIMIT_EXCEEDED')) {
        onTransient(error);
        return undefined;
      }
      throw error;
    }
  }

  /** Like {@link call}, but a 404 is `undefined`. */
  async find<T>(op: { verb: string; resource: string; name?: string | undefined }, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(op, run);
    } catch (error) {
      if (error instanceof MlDeployError && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }

  private operation(op: { verb: string; resource: string; name?: string | undefined }): KubeOperation {
    return { ...op, namespace: this.namespace, server: this.connection.server, context: this.connection.context };
  }

  /**
   * POSTs `body` through the API server's proxy to a Service (`services/<name>:<port>/proxy/<path>`),
   * authenticated as the kubeconfig's user; resolves with the upstream's status and body.
   */
  async proxyPost(
    service: string,
    port: string,
    pathname: string,
    body: string,
    headers: Readonly<Record<string, string>>,
    timeoutMs = 120_000,
  ): Promise<{ status: number; body: string; contentType: string | undefined }> {
    // Relative to the server URL, so that a server under a path (a Rancher or gateway proxy) keeps it.
    const server = this.connection.server.endsWith('/') ? this.connection.server : `${this.connection.server}/`;
    const url = new URL(
      `api/v1/namespaces/${encodeURIComponent(this.namespace)}/services/${encodeURIComponent(`${service}:${port}`)}/proxy${pathname}`,
      server,
    );
    const options: RequestOptions = { method: 'POST', headers: { accept: 'application/json', ...headers } };
    await this.connection.config.applyToHTTPSOptions(options);
    const op = { verb: 'create', resource: 'services/proxy', name: service };
    return new Promise((resolve, reject) => {
      const send = url.protocol === 'https:' ? request : plainRequest;
      const req = send(url, options, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          // The proxy's own refusals (RBAC, a Service without ready endpoints) come as a Kubernetes Status.
          if (isKubernetesStatus(text) && (status === 403 || status === 401 || status === 503 || status === 404)) {
            reject(classifyKubeError({ code: status, body: text }, this.operation(op)));
            return;
          }
          resolve({ status, body: text, contentType: res.headers['content-type'] });
        });
      });
      req.on('error', (error) => reject(classifyKubeError(error, this.operation(op))));
      // A model that never answers must not hang predict: no byte for this long ends the call.
      req.setTimeout(timeoutMs, () => {
        req.destroy();
        reject(
          new MlDeployError('DEADLINE_EXCEEDED', `No answer from ${service} through the API server's proxy within ${timeoutMs / 1000} s`, {
            target: 'kubernetes',
          }),
        );
      });
      req.end(body);
    });
  }
}

function isKubernetesStatus(text: string): boolean {
  try {
    const value = JSON.parse(text) as { kind?: unknown; error_code?: unknown };
    return value.kind === 'Status' && !isErrorCode(value.error_code);
  } catch {
    return false;
  }
}
