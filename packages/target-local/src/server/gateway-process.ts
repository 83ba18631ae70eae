import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MlDeployError, isErrorCode, pollUntil } from '@mldeploy/core';
import type { MetricsJson } from './gateway-metrics.js';
import { GatewayLink } from './gateway-link.js';
import { gatewayHelloSchema, type GatewayKeep, type GatewaySpec, type RouteSnapshot } from './gateway-protocol.js';
import type { ShadowSummary } from './shadow-stats.js';
import { diskFull, isDiskFull } from './storage-errors.js';
import type { WorkerMessage } from './worker-protocol.js';
import { processRuns, processStart } from './process-identity.js';

const GATEWAY_MAIN = fileURLToPath(new URL('./gateway-main.js', import.meta.url));

const recordSchema = z.object({
  pid: z.number().int(),
  /** The process's start time (see processStart), so that a reused pid is not taken for the gateway. */
  started: z.string().nullable(),
  port: z.number().int(),
});

/** The gateway process's files in a home: its record, its control socket, the REST API's socket it forwards to. */
export function gatewayFiles(home: string): { record: string; control: string; api: string; log: string } {
  const run = path.join(home, 'run');
  return {
    record: path.join(run, 'gateway.json'),
    control: path.join(run, 'gateway.sock'),
    api: path.join(run, 'api.sock'),
    log: path.join(home, 'logs', 'gateway.log'),
  };
}

/** What the control plane asks of its gateway. */
export interface GatewayConnection {
  /** Hands the gateway the whole routing table; resolves once it routes by it. */
  publish(snapshot: RouteSnapshot): Promise<void>;
  /** Resolves once no request is in flight to these workers' ports, or at `deadline` (epoch ms). */
  drained(ports: readonly number[], deadline: number): Promise<void>;
  /** Each endpoint's shadow comparison, by endpoint. */
  shadows(): Promise<Record<string, ShadowSummary>>;
  /** The gateway's request counts (prom-client JSON). */
  requests(): Promise<MetricsJson | undefined>;
}

/**
 * The gateway process, seen from the control plane: started by it ({@link GatewayProcess.start})
 * or found serving, left by an earlier one that was killed ({@link GatewayProcess.adopt}). It is
 * recorded in `run/gateway.json` (pid, process start time, port) for the next control plane.
 */
export class GatewayProcess implements GatewayConnection {
  private constructor(
    private readonly home: string,
    readonly pid: number,
    private readonly started: string | null,
    readonly port: number,
    private readonly link: GatewayLink,
    private readonly child: ChildProcess | undefined,
  ) {}

  /**
   * Starts a gateway process on `spec.port` and resolves once it listens there.
   *
   * @throws MlDeployError the gateway's own error (`RESOURCE_CONFLICT` for a port in use).
   */
  static async start(spec: GatewaySpec, env: Readonly<Record<string, string | undefined>>, timeoutMs = 30_000): Promise<GatewayProcess> {
    const files = gatewayFiles(spec.home);
    const out = openSync(files.log, 'a', 0o600);
    // Detached: a Ctrl-C meant for a control plane in the foreground does not reach the data plane.
    const child = fork(GATEWAY_MAIN, [JSON.stringify(spec)], { env: { ...env }, stdio: ['ignore', out, out, 'ipc'], detached: true });
    closeSync(out);
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new MlDeployError('DEADLINE_EXCEEDED', `The gateway process did not listen within ${timeoutMs / 1000} s`, { target: 'local' }),
        );
      }, timeoutMs);
      child.once('message', (message: WorkerMessage) => {
        clearTimeout(timer);
        if (message.type === 'ready') resolve(message.port);
        else {
          const code = isErrorCode(message.error.error_code) ? message.error.error_code : 'INTERNAL_ERROR';
          reject(new MlDeployError(code, message.error.message, { hint: message.error.hint, target: 'local' }));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new MlDeployError(
            'INVALID_STATE',
            `The gateway process exited before it listened (${code === null ? `signal ${signal}` : `code ${code}`})`,
            { target: 'local', hint: `See ${files.log}.` },
          ),
        );
      });
    });
    try {
      const link = await GatewayLink.connect(files.control);
      return new GatewayProcess(spec.home, child.pid!, processStart(child.pid!), port, link, child);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
  }

  /**
   * The gateway an earlier control plane left serving, when `run/gateway.json` names a live
   * process that answers on `run/gateway.sock`. A recorded gateway that is alive but does not
   * answer is stopped (it would hold the port); a dead one's record is removed.
   */
  static async adopt(home: string): Promise<GatewayProcess | undefined> {
    const files = gatewayFiles(home);
    let record: z.infer<typeof recordSchema>;
    try {
      record = recordSchema.parse(JSON.parse(await readFile(files.record, 'utf8')));
    } catch {
      await rm(files.record, { force: true });
      return undefined;
    }
    if (!processRuns(record)) {
      await rm(files.record, { force: true });
      return undefined;
    }
    let link: GatewayLink | undefined;
    try {
      link = await GatewayLink.connect(files.control);
      const hello = gatewayHelloSchema.parse(await link.call({ type: 'hello' }, 2_000));
      if (hello.pid === record.pid) return new GatewayProcess(home, record.pid, record.started, hello.port, link, undefined);
    } catch {
      // Not answering: stopped below.
    }
    link?.close();
    await stopProcess(record, 5_000);
    await rm(files.record, { force: true });
    return undefined;
  }

  /**
   * Records the gateway in `run/gateway.json` for the next control plane.
   *
   * @throws MlDeployError `INTERNAL_ERROR` when the disk is full.
   */
  async record(): Promise<void> {
    const file = gatewayFiles(this.home).record;
    const temp = `${file}.${process.pid}.tmp`;
    try {
      await writeFile(temp, JSON.stringify({ pid: this.pid, started: this.started, port: this.port }), { mode: 0o600 });
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw isDiskFull(error) ? diskFull(file, error) : error;
    }
  }

  /** Lets a gateway this control plane started outlive it (see GatewayKeep). */
  keep(): void {
    if (this.child === undefined || !this.child.connected) return;
    const keep: GatewayKeep = { type: 'keep' };
    this.child.send(keep, () => {
      this.child?.disconnect();
      this.child?.unref();
    });
  }

  /** Called once when the gateway process goes away unasked (its control socket closed). */
  onExit(handler: () => void): void {
    this.link.onClose(handler);
  }

  async publish(snapshot: RouteSnapshot): Promise<void> {
    await this.link.call({ type: 'routes', routes: snapshot });
  }

  async drained(ports: readonly number[], deadline: number): Promise<void> {
    if (ports.length === 0) return;
    const timeoutMs = Math.max(0, deadline - Date.now());
    await this.link.call({ type: 'drain', ports: [...ports], timeoutMs }, timeoutMs + 5_000);
  }

  async shadows(): Promise<Record<string, ShadowSummary>> {
    return (await this.link.call({ type: 'shadows' })) as Record<string, ShadowSummary>;
  }

  async requests(): Promise<MetricsJson | undefined> {
    return (await this.link.call({ type: 'metrics' }, 2_000).catch(() => undefined)) as MetricsJson | undefined;
  }

  /** Leaves the gateway serving, for the next control plane to adopt: only the connection to it closes. */
  detach(): void {
    this.link.close();
    this.child?.unref();
  }

  /** Stops the gateway (it finishes the requests it holds, for at most `graceMs`) and removes its record. */
  async stop(graceMs = 30_000): Promise<void> {
    this.link.close();
    await stopProcess({ pid: this.pid, started: this.started }, graceMs);
    await rm(gatewayFiles(this.home).record, { force: true });
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
async function stopProcess(entry: { pid: number; started: string | null }, graceMs: number): Promise<void> {
  const signal = (name: NodeJS.Signals): void => {
    try {
      if (processRuns(entry)) process.kill(entry.pid, name);
    } catch {
      // Gone meanwhile.
    }
  };
  signal('SIGTERM');
  const gone = (): true | undefined => (processRuns(entry) ? undefined : true);
  const within = (timeoutMs: number): Promise<true> =>
    pollUntil(gone, {
      timeoutMs,
      minDelayMs: 10,
      maxDelayMs: 100,
      onTimeout: () => new MlDeployError('DEADLINE_EXCEEDED', `The gateway process (pid ${entry.pid}) did not stop`, { target: 'local' }),
    });
  await within(graceMs).catch(() => {
    signal('SIGKILL');
    return within(5_000);
  });
}
