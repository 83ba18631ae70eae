import type { Command } from 'commander';
import { formatKeyValues, formatTable } from '../format-output.js';
import { withCommonOptions, withConfigOption, type CommandContext, type CommonOptions } from '../command-context.js';

interface DeploymentOptions extends CommonOptions {
  readonly name: string;
  readonly modelUri?: string;
  readonly flavor?: string;
  readonly endpoint?: string;
}

const LIST_COLUMNS = ['flavor', 'state', 'model_uri', 'url', 'revision'];

/** `create`, `update`, `delete`, `list` and `get`, with `mlflow deployments`' flags. */
export function registerDeploymentCommands(program: Command, ctx: CommandContext): void {
  withConfigOption(
    withCommonOptions(program.command('create').description('Deploy a model to a target; returns when it can serve predictions')),
  )
    .requiredOption('--name <NAME>', 'deployment name')
    .requiredOption('-m, --model-uri <URI>', 'model URI (models:/name@alias, runs:/id/path, a path, …; the target decides what it accepts)')
    .option('-f, --flavor <FLAVOR>', 'model flavor to serve (the target picks one by default)')
    .option('--endpoint <ENDPOINT>', 'endpoint to create the deployment under, for targets that have them')
    .action(async (options: DeploymentOptions) => {
      const config = ctx.configArgs(options);
      const client = await ctx.client(options);
      const deployment = await client.createDeployment(options.name, options.modelUri!, {
        flavor: options.flavor,
        config,
        endpoint: options.endpoint,
      });
      ctx.emit(options, deployment, () => `${deployment.flavor ?? 'default'} deployment ${deployment.name} is created\n`);
    });

  withConfigOption(withCommonOptions(program.command('update').description('Change a deployment’s model, flavor or config')))
    .requiredOption('--name <NAME>', 'deployment name')
    .option('-m, --model-uri <URI>', 'new model URI')
    .option('-f, --flavor <FLAVOR>', 'new flavor (needs --model-uri)')
    .option('--endpoint <ENDPOINT>', 'endpoint the deployment belongs to')
    .action(async (options: DeploymentOptions) => {
      const config = ctx.configArgs(options);
      const client = await ctx.client(options);
      const deployment = await client.updateDeployment(options.name, {
        modelUri: options.modelUri,
        flavor: options.flavor,
        config,
        endpoint: options.endpoint,
      });
      ctx.emit(options, deployment, () => `Deployment ${deployment.name} is updated (with flavor ${deployment.flavor ?? 'unchanged'})\n`);
    });

  withConfigOption(withCommonOptions(program.command('delete').description('Delete a deployment (succeeds if it does not exist)')))
    .requiredOption('--name <NAME>', 'deployment name')
    .option('--endpoint <ENDPOINT>', 'endpoint the deployment belongs to')
    .action(async (options: DeploymentOptions) => {
      const config = ctx.configArgs(options);
      const client = await ctx.client(options);
      await client.deleteDeployment(options.name, { config, endpoint: options.endpoint });
      ctx.emit(options, { name: options.name, deleted: true }, () => `Deployment ${options.name} is deleted\n`);
    });

  withCommonOptions(program.command('list').description('List the deployments of a target'))
    .option('--endpoint <ENDPOINT>', 'list only the deployments under this endpoint')
    .action(async (options: DeploymentOptions) => {
      const client = await ctx.client(options);
      const deployments = await client.listDeployments({ endpoint: options.endpoint });
      ctx.emit(options, deployments, () =>
        deployments.length === 0 ? 'No deployments.\n' : `List of all deployments:\n${formatTable(deployments, LIST_COLUMNS)}`,
      );
    });

  withCommonOptions(program.command('get').description('Describe one deployment'))
    .requiredOption('--name <NAME>', 'deployment name')
    .option('--endpoint <ENDPOINT>', 'endpoint the deployment belongs to')
    .action(async (options: DeploymentOptions) => {
      const client = await ctx.client(options);
      const deployment = await client.getDeployment(options.name, { endpoint: options.endpoint });
      ctx.emit(options, deployment, () => formatKeyValues(deployment));
    });
}
