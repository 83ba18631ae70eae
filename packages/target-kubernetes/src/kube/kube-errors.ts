import { MlDeployError, isMlDeployError } from '@mldeploy/core';
import { z } from 'zod';

/** A Kubernetes `Status` object, the body of every API error. */
const statusSchema = z.looseObject({
  kind: z.literal('Status').optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  code: z.number().optional(),
  details: z
    .looseObject({
      name: z.string().optional(),
      group: z.string().optional(),
      kind: z.string().optional(),
      causes: z
        .array(z.looseObject({ reason: z.string().optional(), message: z.string().optional(), field: z.string().optional() }))
        .optional(),
    })
    .optional(),
});

/** What was being done when a call failed, for the message: `create Deployment iris in namespace ml`. */
export interface KubeOperation {
  /** The API verb: get, list, create, update, patch, delete, watch. */
  readonly verb: string;
  /** The resource, as RBAC names it: `deployments.apps`, `inferenceservices.serving.kserve.io`, `services`. */
  readonly resource: string;
  readonly name?: string | undefined;
  readonly namespace: string;
  /** The API server (URL) and context, named when the cluster cannot be reached. */
  readonly server: string;
  readonly context: string;
}

function describe(op: KubeOperation): string {
  return `${op.verb} ${op.resource}${op.name === undefined ? '' : ` "${op.name}"`} in namespace "${op.namespace}"`;
}

/** The parts of an error from @kubernetes/client-node this module reads (its ApiException). */
function httpFailure(error: unknown): { code: number; body: unknown } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, body } = error as { code?: unknown; body?: unknown };
  return typeof code === 'number' && code >= 400 && code < 600 ? { code, body } : undefined;
}

function parseStatus(body: unknown): z.infer<typeof statusSchema> {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return { message: body.slice(0, 500) };
    }
  }
  const parsed = statusSchema.safeParse(value);
  return parsed.success ? parsed.data : {};
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EAI_AGAIN',
  'EPIPE',
]);

/** Node's and OpenSSL's codes for a certificate the client does not trust, or a TLS handshake that failed. */
function isTlsCode(code: string): boolean {
  return code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code === 'EPROTO' || /CERT|SIGNATURE|SELF_SIGNED/.test(code);
}

/** Why the API server could not be reached: a socket or TLS error's code, or what fetch gave as the cause. */
function connectionFailure(error: unknown): { code: string; tls: boolean } | undefined {
  for (let e: unknown = error; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('UND_ERR'))) return { code, tls: false };
    if (typeof code === 'string' && isTlsCode(code)) return { code, tls: true };
  }
  // fetch wraps every connection failure as TypeError('fetch failed'), the reason in its cause.
  if (error instanceof TypeError && error.message === 'fetch failed') {
    const cause = (error as { cause?: unknown }).cause;
    return { code: cause instanceof Error ? cause.message : 'fetch failed', tls: false };
  }
  return undefined;
}

/**
 * Classifies an error of a Kubernetes API call where it is caught: 404 → `RESOURCE_DOES_NOT_EXIST`,
 * 409 AlreadyExists → `RESOURCE_ALREADY_EXISTS` (a 409 Conflict on update → `RESOURCE_CONFLICT`),
 * 403 → `PERMISSION_DENIED` naming the verb and resource the role lacks, 422 → `INVALID_PARAMETER_VALUE`
 * naming the fields, 401 → `UNAUTHENTICATED`, an unreachable API server → `TEMPORARILY_UNAVAILABLE`
 * naming the server and the context. An `MlDeployError` passes through unchanged.
 */
export function classifyKubeError(error: unknown, op: KubeOperation): MlDeployError {
  if (isMlDeployError(error)) return error;
  const options = { target: 'kubernetes', cause: error };
  const failure = httpFailure(error);
  if (failure === undefined) {
    const connection = connectionFailure(error);
    if (connection?.tls === true) {
      // Not something that passes: retrying would not help.
      return new MlDeployError(
        'INVALID_STATE',
        `Cannot talk to the Kubernetes API server ${op.server} (context "${op.context}") over TLS: ${connection.code}`,
        { ...options, hint: "Check the cluster's certificate-authority in your kubeconfig (KUBECONFIG or ~/.kube/config)." },
      );
    }
    if (connection !== undefined) {
      return new MlDeployError(
        'TEMPORARILY_UNAVAILABLE',
        `Cannot reach the Kubernetes API server ${op.server} (context "${op.context}"): ${connection.code}`,
        {
          ...options,
          hint: 'Check that the cluster is up and that the context in your kubeconfig (KUBECONFIG or ~/.kube/config) is the right one.',
        },
      );
    }
    return new MlDeployError(
      'INTERNAL_ERROR',
      `Kubernetes call failed (${describe(op)}): ${(error as Error)?.message ?? String(error)}`,
      options,
    );
  }
  const status = parseStatus(failure.body);
  const said = status.message ?? `HTTP ${failure.code}`;
  const details = { kubernetes_status: failure.code, ...(status.reason === undefined ? {} : { reason: status.reason }) };
  switch (failure.code) {
    case 401:
      return new MlDeployError(
        'UNAUTHENTICATED',
        `The Kubernetes API server ${op.server} did not accept the credentials of context "${op.context}"`,
        {
          ...options,
          details,
          hint: 'Refresh the credentials in your kubeconfig (an expired token or certificate).',
        },
      );
    case 403:
      // RBAC says "... cannot <verb> resource ..."; other 403s are admission's (a quota, PodSecurity, a webhook, a namespace being deleted).
      if (!/cannot \S+ resource/.test(said)) {
        return new MlDeployError('PERMISSION_DENIED', `Kubernetes refused to ${describe(op)}: ${said}`, { ...options, details });
      }
      return new MlDeployError(
        'PERMISSION_DENIED',
        `Kubernetes refused to ${describe(op)}: the role lacks "${op.verb}" on "${op.resource}" (${said})`,
        {
          ...options,
          details: { ...details, verb: op.verb, resource: op.resource },
          hint: "Grant the rules 'mldeploy help -t kubernetes' lists to the user or service account of this context.",
        },
      );
    case 404:
      return new MlDeployError('RESOURCE_DOES_NOT_EXIST', `Not found: ${describe(op)} (${said})`, { ...options, details });
    case 409:
      return status.reason === 'AlreadyExists'
        ? new MlDeployError('RESOURCE_ALREADY_EXISTS', `Already exists: ${describe(op)}`, { ...options, details })
        : new MlDeployError('RESOURCE_CONFLICT', `Conflict: ${describe(op)} changed meanwhile (${said})`, {
            ...options,
            details,
            hint: 'Another change was made at the same time; run the command again.',
          });
    case 422: {
      const fields = (status.details?.causes ?? []).map((c) => `${c.field ?? '?'}: ${c.message ?? c.reason ?? 'invalid'}`);
      return new MlDeployError(
        'INVALID_PARAMETER_VALUE',
        `Kubernetes refused the ${op.resource}${op.name === undefined ? '' : ` "${op.name}"`}: ${fields.length > 0 ? fields.join('; ') : said}`,
        { ...options, details: { ...details, fields: (status.details?.causes ?? []).map((c) => c.field).filter((f) => f !== undefined) } },
      );
    }
    case 429:
      return new MlDeployError('REQUEST_LIMIT_EXCEEDED', `The Kubernetes API server is throttling requests (${said})`, {
        ...options,
        details,
      });
    default:
      return new MlDeployError(
        failure.code >= 500 ? 'TEMPORARILY_UNAVAILABLE' : 'BAD_REQUEST',
        `Kubernetes answered ${failure.code} to ${describe(op)}: ${said}`,
        { ...options, details },
      );
  }
}
