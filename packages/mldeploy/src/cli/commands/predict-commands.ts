import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { withCommonOptions, type CommandContext, type CommonOptions } from '../command-context.js';
import { formatJson } from '../format-output.js';
import { readPredictionInput, type InputContentType } from '../read-input.js';
import { UsageError } from '../usage-error.js';

interface PredictOptions extends CommonOptions {
  readonly name?: string;
  readonly endpoint?: string;
  readonly inputPath: string;
  readonly outputPath?: string;
  readonly contentType?: InputContentType;
}

function checkNameOrEndpoint(options: PredictOptions): void {
  if ((options.name === undefined) === (options.endpoint === undefined))
    throw new UsageError('Must specify exactly one of --name or --endpoint.');
}

/** The result is JSON either way; `--json` only makes it indented, like every other command's `--json`. */
async function writeResult(ctx: CommandContext, options: PredictOptions, result: unknown): Promise<void> {
  const text = options.json === true ? formatJson(result) : `${JSON.stringify(result)}\n`;
  if (options.outputPath === undefined) {
    ctx.io.stdout.write(text);
  } else {
    await writeFile(path.resolve(ctx.io.cwd, options.outputPath), text);
  }
}

function predictCommand(program: Command, name: string, description: string): Command {
  return withCommonOptions(program.command(name).description(description))
    .option('--name <NAME>', 'deployment to send the input to')
    .option('--endpoint <ENDPOINT>', 'endpoint to send the input to')
    .requiredOption('-I, --input-path <PATH>', "input file: JSON (any of MLflow's scoring shapes, or a table) or CSV; '-' reads stdin")
    .option('-O, --output-path <PATH>', 'write the result here instead of stdout')
    .addOption(new Option('--content-type <TYPE>', 'input format (default: csv for a .csv file, else json)').choices(['json', 'csv']));
}

/** `predict` and `explain`: read an input file, call the target, print or save the JSON result. */
export function registerPredictCommands(program: Command, ctx: CommandContext): void {
  predictCommand(program, 'predict', 'Predict with a deployment or an endpoint').action(async (options: PredictOptions) => {
    checkNameOrEndpoint(options);
    const inputs = await readPredictionInput(options.inputPath, options.contentType, ctx.io);
    const client = await ctx.client(options);
    await writeResult(ctx, options, await client.predict(options.name, inputs, { endpoint: options.endpoint }));
  });

  predictCommand(program, 'explain', 'Explain the predictions of a deployment or an endpoint, where the target supports it').action(
    async (options: PredictOptions) => {
      checkNameOrEndpoint(options);
      const inputs = await readPredictionInput(options.inputPath, options.contentType, ctx.io);
      const client = await ctx.client(options);
      await writeResult(ctx, options, await client.explain(options.name, inputs, { endpoint: options.endpoint }));
    },
  );
}
