import { Option, type Command } from 'commander';
import {
  type BaseDeploymentClient,
  type ClientOptions,
  DEPLOYMENTS_TARGET_ENV,
  isMlDeployError,
  MlDeployError,
  resolveConfig,
  type ResolvedConfig,
} from '@mldeploy/core';
import { auditedClient } from '../audit/audited-client.js';
import { auditSourceOf, hasOwnAuditLog, journalOf, type AuditSource } from '../audit/audit-source.js';
import type { SpecTarget } from '../spec/plan-spec.js';
import { getDeployClient, installedTargets, runLocal, targetCapabilities, targetHelp } from '../targets.js';
import type { CliIo } from './cli-io.js';
import { parseConfigArgs } from './config-args.js';
import { downloadProgress } from './download-progress.js';
import { formatJson } from './format-output.js';
import { UsageError } from './usage-error.js';

/** Options every subcommand has. */
export interface CommonOptions {
  readonly target?: string;
  readonly json?: boolean;
  readonly verbose?: boolean;
  readonly config?: string[];
}

/**
 * What command actions use: the resolved configuration, the client for `-t`, and output. It is
 * the only place the CLI turns flags into library calls.
 */
export class CommandContext {
  private resolved: ResolvedConfig | undefined;

  constructor(readonly io: CliIo) {}

  /** The configuration, resolved once from the CLI's environment. */
  config(): ResolvedConfig {
    this.resolved ??= resolveConfig({ env: this.io.env, cwd: this.io.cwd, user: this.io.user });
    return this.resolved;
  }

  /** `-t`, else `MLFLOW_DEPLOYMENTS_TARGET`, else the built-in `local` target. */
  target(options: CommonOptions): string {
    const target = options.target ?? this.io.env[DEPLOYMENTS_TARGET_ENV];
    if (target !== undefined && target.trim() === '') throw new UsageError("Invalid value for '-t' / '--target': the target is empty.");
    return target ?? 'local';
  }

  /** Parses `-C` flags; done before the client is made, so config mistakes are reported first. */
  configArgs(options: CommonOptions): Record<string, string> {
    return parseConfigArgs(options.config ?? []);
  }

  /**
   * The client for `-t`. A target without an audit log of its own (every one but `local`, whose
   * control plane keeps one) gets its changes recorded in the CLI's log for it (docs/audit.md).
   */
  async client(options: CommonOptions): Promise<BaseDeploymentClient> {
    return this.recordingChanges(await this.targetClient(options));
  }

  /**
   * `client`, with every change it makes recorded in the CLI's audit log of its target, unless
   * the target keeps one itself (local's control plane does). Every client the CLI changes a
   * target through goes through here.
   */
  recordingChanges(client: BaseDeploymentClient): BaseDeploymentClient {
    if (hasOwnAuditLog(client)) return client;
    return auditedClient(client, journalOf(this.config().homeDir, client.targetUri), this.config().user ?? 'unknown');
  }

  /** The audit log of `-t`'s target: its control plane's, or the CLI's own. */
  async auditSource(options: CommonOptions): Promise<AuditSource> {
    return auditSourceOf(await this.targetClient(options), this.config().homeDir);
  }

  /** The client of a target a spec file names (its changes recorded as any CLI change), with what its plugin declares it can do. */
  async openTarget(targetUri: string): Promise<SpecTarget> {
    const [client, capabilities] = await Promise.all([
      getDeployClient(targetUri, this.clientOptions()),
      targetCapabilities(targetUri, this.clientOptions()),
    ]);
    return { client: this.recordingChanges(client), capabilities };
  }

  private async targetClient(options: CommonOptions): Promise<BaseDeploymentClient> {
    return this.sayingWhereTargetCameFrom(options, getDeployClient(this.target(options), this.clientOptions()));
  }

  private clientOptions(): ClientOptions {
    return {
      config: this.config(),
      log: (line) => this.log(line),
      // A target that downloads the model in this process (local) shows the same progress line as `models predict`.
      onDownloadProgress: downloadProgress(this.io.stderr),
    };
  }

  /** A target the user did not type is hard to spot in an error: say it came from the variable. */
  private async sayingWhereTargetCameFrom<T>(options: CommonOptions, pending: Promise<T>): Promise<T> {
    try {
      return await pending;
    } catch (error) {
      if (options.target !== undefined || this.io.env[DEPLOYMENTS_TARGET_ENV] === undefined || !isMlDeployError(error)) throw error;
      throw new MlDeployError(error.code, `${error.message} (The target came from ${DEPLOYMENTS_TARGET_ENV}=${this.target(options)}.)`, {
        target: error.target,
        hint: error.hint,
        details: error.details,
        cause: error,
      });
    }
  }

  runLocal(
    target: string,
    name: string,
    modelUri: string,
    flavor: string | undefined,
    config: Record<string, string>,
    signal: AbortSignal,
    log: (line: string) => void = (line) => this.log(line),
  ): Promise<void> {
    return runLocal(target, name, modelUri, flavor, config, { config: this.config(), log, signal });
  }

  targetHelp(target: string): Promise<string> {
    return targetHelp(target, { config: this.config() });
  }

  installedTargets(): Promise<string[]> {
    return installedTargets({ config: this.config() });
  }

  /** Writes data to stdout: JSON with `--json`, else the human form. */
  emit(options: CommonOptions, data: unknown, human: () => string): void {
    this.io.stdout.write(options.json === true ? formatJson(data) : human());
  }

  /** A progress or status line for a person: stderr, so that stdout stays data. */
  log(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }
}

/** Adds `-t/--target`, `--json` and `--verbose` to a subcommand. */
export function withCommonOptions(command: Command): Command {
  command.option(
    '-t, --target <URI>',
    `deployment target URI, e.g. local, local:/srv/mldeploy or remote (default: $${DEPLOYMENTS_TARGET_ENV}, else local)`,
  );
  return command.option('--json', 'print machine-readable JSON').option('--verbose', 'print stack traces on errors');
}

/** Adds the repeatable `-C/--config NAME=VALUE` flag. */
export function withConfigOption(command: Command): Command {
  return command.addOption(
    new Option('-C, --config <NAME=VALUE>', 'target-specific setting; repeat for several').argParser(
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    ),
  );
}
