import type { Command } from 'commander';
import { formatKeyValues, formatTable } from '../format-output.js';
import { withCommonOptions, withConfigOption, type CommandContext, type CommonOptions } from '../command-context.js';

interface EndpointOptions extends CommonOptions {
  readonly endpoint: string;
}

/**
 * `create-endpoint`, `update-endpoint`, `delete-endpoint`, `list-endpoints` and `get-endpoint`.
 * `create-endpoint` takes `--endpoint` as MLflow declares it (MLflow's own command fails on it).
 */
export function registerEndpointCommands(program: Command, ctx: CommandContext): void {
  withConfigOption(withCommonOptions(program.command('create-endpoint').description('Create an endpoint (traffic split over deployments)')))
    .requiredOption('--endpoint <ENDPOINT>', 'endpoint name')
    .action(async (options: EndpointOptions) => {
      const config = ctx.configArgs(options);
      const client = await ctx.client(options);
      const endpoint = await client.createEndpoint(options.endpoint, config);
      ctx.emit(options, endpoint, () => `Endpoint ${endpoint.name} is created\n`);
    });

  withConfigOption(withCommonOptions(program.command('update-endpoint').description('Change an endpoint, e.g. its traffic split')))
    .requiredOption('--endpoint <ENDPOINT>', 'endpoint name')
    .action(async (options: EndpointOptions) => {
      const config = ctx.configArgs(options);
      const client = await ctx.client(options);
      const endpoint = await client.updateEndpoint(options.endpoint, config);
      ctx.emit(options, endpoint ?? { name: options.endpoint }, () => `Endpoint ${options.endpoint} is updated\n`);
    });

  withCommonOptions(program.command('delete-endpoint').description('Delete an endpoint (succeeds if it does not exist)'))
    .requiredOption('--endpoint <ENDPOINT>', 'endpoint name')
    .action(async (options: EndpointOptions) => {
      const client = await ctx.client(options);
      await client.deleteEndpoint(options.endpoint);
      ctx.emit(options, { name: options.endpoint, deleted: true }, () => `Endpoint ${options.endpoint} is deleted\n`);
    });

  withCommonOptions(program.command('list-endpoints').description('List the endpoints of a target')).action(
    async (options: CommonOptions) => {
      const client = await ctx.client(options);
      const endpoints = await client.listEndpoints();
      ctx.emit(options, endpoints, () =>
        endpoints.length === 0 ? 'No endpoints.\n' : `List of all endpoints:\n${formatTable(endpoints, ['traffic', 'state', 'url'])}`,
      );
    },
  );

  withCommonOptions(program.command('get-endpoint').description('Describe one endpoint'))
    .requiredOption('--endpoint <ENDPOINT>', 'endpoint name')
    .action(async (options: EndpointOptions) => {
      const client = await ctx.client(options);
      const endpoint = await client.getEndpoint(options.endpoint);
      ctx.emit(options, endpoint, () => formatKeyValues(endpoint));
    });
}
