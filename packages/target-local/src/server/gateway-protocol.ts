import { z } from 'zod';
import type { HttpLimits } from './http-limits.js';

/** What the gateway routes by: the control plane's routing table, as plain data. */
const routeSnapshotSchema = z.object({
  /** Whether the control plane has brought back every recorded deployment (OIP server readiness). */
  ready: z.boolean(),
  deployments: z.array(
    z.object({
      name: z.string().min(1),
      /** The revision serving it, or null when it is recorded but nothing serves it (starting, or failed to start). */
      serving: z
        .object({
          revision: z.number().int().min(1),
          maxBodyBytes: z.number().int().min(0),
          timeoutMs: z.number().min(0),
          /** The private ports of its live replicas. */
          ports: z.array(z.number().int().min(1).max(65535)),
        })
        .nullable(),
    }),
  ),
  endpoints: z.array(
    z.object({
      name: z.string().min(1),
      config: z.object({
        traffic: z.record(z.string(), z.number()),
        stickyHeader: z.string().nullable(),
        shadow: z.object({ deployment: z.string(), percent: z.number() }).nullable(),
      }),
    }),
  ),
});

/** See {@link routeSnapshotSchema}. */
export type RouteSnapshot = z.infer<typeof routeSnapshotSchema>;

/**
 * What the control plane asks its gateway over `run/gateway.sock`, one JSON line each, answered
 * by a line with the same `id`: take these routes; wait until nothing is in flight to these
 * workers; the shadow comparisons; the request metrics (prom-client JSON); who are you.
 */
export const gatewayCallSchema = z.discriminatedUnion('type', [
  z.object({ id: z.number().int(), type: z.literal('routes'), routes: routeSnapshotSchema }),
  z.object({ id: z.number().int(), type: z.literal('drain'), ports: z.array(z.number().int()), timeoutMs: z.number().min(0) }),
  z.object({ id: z.number().int(), type: z.literal('shadows') }),
  z.object({ id: z.number().int(), type: z.literal('metrics') }),
  z.object({ id: z.number().int(), type: z.literal('hello') }),
]);

/** See {@link gatewayCallSchema}. */
export type GatewayCall = z.infer<typeof gatewayCallSchema>;

/** An answer on `run/gateway.sock`: `result` (what the call asked for), or `error` (why it failed). */
export const gatewayAnswerSchema = z.object({ id: z.number().int(), result: z.unknown().optional(), error: z.string().optional() });

/** The gateway's answer to `hello`: enough for a control plane to know it adopts the right process. */
export const gatewayHelloSchema = z.object({ pid: z.number().int(), port: z.number().int(), version: z.string() });

/** What the control plane tells a gateway process to serve (its one argument, as JSON). */
export interface GatewaySpec {
  readonly home: string;
  readonly host: string;
  /** The public port; 0 for any free one. */
  readonly port: number;
  readonly version: string;
  readonly limits: HttpLimits;
}

/**
 * The one message a control plane sends a gateway it started, once it is ready and has recorded
 * the gateway in `run/gateway.json`: from then on the gateway outlives it. A gateway whose channel
 * closes before (its control plane died while starting) exits: nobody would know of it.
 */
export interface GatewayKeep {
  readonly type: 'keep';
}
