import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onTerminationSignal } from '@mldeploy/core';
import { Option, type Command } from 'commander';
import {
  isLoopback,
  mlflowConnectionFromEnv,
  parseContentType,
  resolveAndLoadModel,
  resolveModel,
  serveModel,
  type ResolvedModel,
  type ServedModel,
} from '@mldeploy/serving';
import type { CommandContext } from '../command-context.js';
import { downloadProgress } from '../download-progress.js';
import { readInputDocument, type InputContentType } from '../read-input.js';
import { UsageError } from '../usage-error.js';

interface ServeOptions {
  readonly modelUri: string;
  readonly port: string;
  readonly host: string;
  readonly name?: string;
  readonly flavor?: string;
  readonly timeout: string;
  readonly maxBodySize: string;
  readonly allowUnauthenticated?: boolean;
  readonly verbose?: boolean;
}

interface PredictOptions {
  readonly modelUri: string;
  readonly inputPath?: string;
  readonly outputPath?: string;
  readonly contentType?: InputContentType;
  readonly flavor?: string;
  readonly verbose?: boolean;
}

function positiveInt(value: string, flag: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new UsageError(`Invalid value for '${flag}': ${JSON.stringify(value)} is not a whole number from 0 to ${max}.`);
  return n;
}

function resolveAndLoad(
  ctx: CommandContext,
  uri: string,
  flavor: string | undefined,
  timeoutSeconds: number,
): Promise<{ resolved: ResolvedModel; model: ServedModel }> {
  return resolveAndLoadModel(ctx.config(), uri, { flavor, timeoutSeconds, onProgress: downloadProgress(ctx.io.stderr) });
}

/** `models serve` and `models predict`: MLflow's `mlflow models` commands, served by mldeploy's runtime. */
export function registerModelsCommands(program: Command, ctx: CommandContext, version: string): void {
  const models = program.command('models').description('Serve or score one model directly, like `mlflow models`');

  models
    .command('serve')
    .description("Serve a model over HTTP with MLflow's scoring protocol and the Open Inference Protocol, until Ctrl-C")
    .helpOption('--help', 'display help for command')
    .requiredOption('-m, --model-uri <URI>', 'model URI: a folder, runs:/…, models:/name@alias, models:/name/N, …')
    .option('-p, --port <PORT>', 'port to listen on (0 picks a free one)', ctx.io.env['MLFLOW_PORT'] ?? '5000')
    .option(
      '-h, --host <HOST>',
      'address to bind; anything but loopback needs MLDEPLOY_SERVER_TOKEN (or --allow-unauthenticated)',
      ctx.io.env['MLFLOW_HOST'] ?? '127.0.0.1',
    )
    .option('--name <NAME>', "the model's name in the Open Inference Protocol routes (default: its registered name, else its folder name)")
    .option('-f, --flavor <FLAVOR>', 'flavor to serve: onnx or python_function (default: onnx when the model has it)')
    .option(
      '-t, --timeout <SECONDS>',
      'seconds a request may take before it gets 504',
      ctx.io.env['MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT'] ?? '60',
    )
    .option('--max-body-size <BYTES>', 'largest request body accepted (413 above it)', String(100 * 1024 * 1024))
    .option(
      '--allow-unauthenticated',
      "serve beyond loopback without a token: only behind a platform that authenticates callers itself, such as SageMaker's front end",
    )
    .option('--verbose', 'print stack traces on errors')
    .action(async (options: ServeOptions) => {
      const port = positiveInt(options.port, '-p', 65535);
      const timeout = positiveInt(options.timeout, '-t', 86_400);
      const maxBody = positiveInt(options.maxBodySize, '--max-body-size', 2 ** 31);
      const served = await serveModel(ctx.config(), {
        modelUri: options.modelUri,
        flavor: options.flavor,
        name: options.name,
        host: options.host,
        port,
        maxBodyBytes: maxBody,
        timeoutSeconds: timeout,
        serverVersion: version,
        allowUnauthenticated: options.allowUnauthenticated === true,
        onProgress: downloadProgress(ctx.io.stderr),
      });
      const { resolved, model, name, url } = served;
      // Said once, where the operator reads the log: the flag turns off the one check mldeploy
      // itself makes on callers, which is right only when the platform in front makes it.
      if (options.allowUnauthenticated === true && !isLoopback(options.host) && ctx.config().serverToken === undefined)
        ctx.log(
          `Warning: requests to ${url} are not authenticated by mldeploy (--allow-unauthenticated): the platform in front must authenticate callers and be the only way in`,
        );
      ctx.log(
        `Serving ${name}${resolved.registered === undefined ? '' : ` version ${resolved.registered.version}`} (${model.flavor}) from ${options.modelUri} at ${url}`,
      );
      await new Promise<void>((resolve) =>
        onTerminationSignal(() => {
          ctx.log('Stopping: finishing requests in flight');
          void served.stop().then(resolve);
        }),
      );
    });

  models
    .command('predict')
    .description('Score an input file with a model, without a server, and print {"predictions": …}')
    .requiredOption('-m, --model-uri <URI>', 'model URI')
    .option('-i, --input-path <PATH>', 'input file (default: standard input)')
    .option('-o, --output-path <PATH>', 'write the result here instead of stdout')
    .addOption(new Option('-t, --content-type <TYPE>', 'input format (default: csv for a .csv file, else json)').choices(['json', 'csv']))
    .option('-f, --flavor <FLAVOR>', 'flavor to use: onnx or python_function')
    .option('--verbose', 'print stack traces on errors')
    .action(async (options: PredictOptions) => {
      const input = await readInputDocument(options.inputPath, options.contentType, ctx.io, "'-i' / '--input-path'");
      const format = parseContentType(input.type === 'csv' ? 'text/csv' : 'application/json');
      const body = Buffer.from(input.text, 'utf8');
      const { model } = await resolveAndLoad(ctx, options.modelUri, options.flavor, 600);
      try {
        const result = `${JSON.stringify(await model.invocations(format, body))}\n`;
        if (options.outputPath === undefined) ctx.io.stdout.write(result);
        else await writeFile(path.resolve(ctx.io.cwd, options.outputPath), result);
      } finally {
        await model.close();
      }
    });

  models
    .command('download')
    .description(
      "Download a model (models:/…, runs:/…, mlflow-artifacts:/…, a folder) into a folder: what a Kubernetes deployment's init container runs",
    )
    .requiredOption('-m, --model-uri <URI>', 'model URI')
    .requiredOption('-d, --dest <DIR>', 'folder to write the MLflow model into (created if missing; must be empty)')
    .option('--verbose', 'print stack traces on errors')
    .action(async (options: { modelUri: string; dest: string }) => {
      const dest = path.resolve(ctx.io.cwd, options.dest);
      const existing = await readdir(dest).catch(() => []);
      if (existing.length > 0) throw new UsageError(`Invalid value for '-d' / '--dest': ${dest} is not empty.`);
      const config = ctx.config();
      // A cache of its own: in a pod the user's cache is not kept, and the model goes to dest once.
      const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'mldeploy-download-'));
      try {
        const resolved = await resolveModel(options.modelUri, {
          connection: mlflowConnectionFromEnv(config.env),
          cacheDir,
          cwd: config.cwd,
          onProgress: downloadProgress(ctx.io.stderr),
        });
        await cp(resolved.dir, dest, { recursive: true });
        const version = resolved.registered === undefined ? '' : ` (${resolved.registered.name} version ${resolved.registered.version})`;
        ctx.log(`Downloaded ${options.modelUri}${version} to ${dest}`);
      } finally {
        await rm(cacheDir, { recursive: true, force: true });
      }
    });
}
