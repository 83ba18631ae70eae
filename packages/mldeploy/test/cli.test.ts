import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../../../test/support/run-cli.js';
import { FIXTURE_MODELS } from '../../../test/support/paths.js';
import { tempDir, tempFile } from '../../../test/support/temp.js';
import { pluginsEnv } from '../../core/test/support.js';
import { IRIS, localHome } from '../../target-local/test/support.js';

const env = { MLDEPLOY_PLUGINS: pluginsEnv({ faketarget: 'faketarget.mjs', minimal: 'minimal.mjs', broken: 'missing-interfaces.mjs' }) };
const fake = (args: string[], extra: Record<string, string> = {}, stdin?: string): Promise<CliResult> =>
  runCli(args, { env: { ...env, ...extra }, ...(stdin === undefined ? {} : { stdin }) });

const inputFile = tempFile;

describe('mldeploy CLI against MLflow’s test plugin (§4.2)', () => {
  it('create works with long and short flags', async () => {
    for (const args of [
      ['create', '--flavor', 'fake_flavor', '--model-uri', 'fake_model_uri', '--target', 'faketarget', '--name', 'fake_deployment_name'],
      ['create', '-f', 'fake_flavor', '-m', 'fake_model_uri', '-t', 'faketarget', '--name', 'fake_deployment_name'],
    ]) {
      const result = await fake(args);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('fake_flavor deployment fake_deployment_name is created');
    }
  });

  it('update prints the returned flavor', async () => {
    const result = await fake(['update', '--flavor', 'fake_flavor', '-m', 'u', '-t', 'faketarget', '--name', 'fake_deployment_name']);
    expect(result.stdout).toContain('Deployment fake_deployment_name is updated (with flavor fake_flavor)');
    expect((await fake(['update', '-t', 'faketarget', '--name', 'fake_deployment_name'])).stdout).toContain(
      'Deployment fake_deployment_name is updated (with flavor unchanged)',
    );
  });

  it('delete, list and get print what MLflow prints', async () => {
    expect((await fake(['delete', '--name', 'fake_deployment_name', '-t', 'faketarget'])).stdout).toContain(
      'Deployment fake_deployment_name is deleted',
    );
    const list = await fake(['list', '-t', 'faketarget']);
    expect(list.stdout).toMatch(/List of all deployments:\nNAME\s*\nfake_deployment_name/);
    const get = await fake(['get', '--name', 'fake_deployment_name', '-t', 'faketarget']);
    expect(get.stdout).toContain('key1: val1');
    expect(get.stdout).toContain('key2: val2');
  });

  it('-C values reach the plugin as strings; a plugin error exits 1 with one line', async () => {
    const create = await fake(['create', '-t', 'faketarget', '--name', 'n', '-m', 'm', '-C', 'raiseError=True']);
    expect(create.code).toBe(1);
    expect(create.stderr).toBe('error: INTERNAL_ERROR: Error requested\n');
    const del = await fake(['delete', '-t', 'faketarget', '--name', 'n', '-C', 'raiseError=True']);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain('Error requested');
  });

  it('predict reads a JSON file, prints the response, and writes it with --output-path', async () => {
    const input = inputFile('input.json', '{"data": [5000]}');
    const result = await fake(['predict', '--target', 'faketarget', '--name', 'fake_deployment_name', '--input-path', input]);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { predictions: unknown; received: unknown };
    expect(printed.predictions).toEqual([1, 2, 3]);
    // Like pandas.read_json, a dict of lists is a table with a column per key.
    expect(printed.received).toEqual({ dataframe_split: { columns: ['data'], data: [[5000]] } });
    const output = path.join(tempDir('output'), 'out.json');
    expect((await fake(['predict', '-t', 'faketarget', '--name', 'x', '-I', input, '-O', output])).stdout).toBe('');
    expect(JSON.parse(readFileSync(output, 'utf8'))).toMatchObject({ predictions: [1, 2, 3] });
  });

  it('predict accepts every scoring shape as it is, CSV by extension or flag, and stdin', async () => {
    const split = { dataframe_split: { columns: ['a'], data: [[1]] }, params: { k: 1 } };
    const received = async (args: string[], stdin?: string): Promise<unknown> =>
      (JSON.parse((await fake(args, {}, stdin)).stdout) as { received: unknown }).received;
    expect(await received(['predict', '-t', 'faketarget', '--name', 'x', '-I', inputFile('s.json', JSON.stringify(split))])).toEqual(split);
    expect(await received(['predict', '-t', 'faketarget', '--name', 'x', '-I', inputFile('r.json', '[{"a": 1}, {"a": 2}]')])).toEqual({
      dataframe_records: [{ a: 1 }, { a: 2 }],
    });
    expect(await received(['predict', '-t', 'faketarget', '--name', 'x', '-I', inputFile('t.csv', 'a,b\n1,2\n')])).toEqual({
      text: 'a,b\n1,2\n',
    });
    expect(
      await received(['predict', '-t', 'faketarget', '--name', 'x', '--content-type', 'csv', '-I', inputFile('t.txt', 'a\n1\n')]),
    ).toEqual({ text: 'a\n1\n' });
    expect(await received(['predict', '-t', 'faketarget', '--name', 'x', '-I', '-'], '{"inputs": [[1, 2]]}')).toEqual({ inputs: [[1, 2]] });
  });

  it('predict through an endpoint', async () => {
    const result = await fake([
      'predict',
      '-t',
      'faketarget',
      '--endpoint',
      'fake_endpoint_name',
      '-I',
      inputFile('i.json', '{"inputs": [1]}'),
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ predictions: [1, 2, 3] });
  });

  it('help -t prints the target’s help; help alone lists the installed targets', async () => {
    expect((await fake(['help', '-t', 'faketarget'])).stdout).toContain('Target help is called');
    const general = await fake(['help']);
    expect(general.code).toBe(0);
    expect(general.stdout).toMatch(/Support is currently installed for deployment to: .*faketarget/);
  });

  it('run-local passes an empty config dict, not nothing', async () => {
    const result = await fake([
      'run-local',
      '-t',
      'faketarget',
      '--name',
      'fake_deployment_name',
      '-m',
      'fake_model_uri',
      '-f',
      'fake_flavor',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Deployed locally at the key fake_deployment_name');
    expect(result.stderr).toContain('using the model from fake_model_uri.');
    expect(result.stderr).toContain("It's flavor is fake_flavor and config is {}");
  });

  it('explain prints the JSON of the result', async () => {
    const result = await fake(['explain', '-t', 'faketarget', '--name', 'x', '-I', inputFile('i.json', '{"inputs": [1]}')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('"1"\n');
  });

  it('the endpoint commands work, create-endpoint included (broken in MLflow)', async () => {
    const create = await fake(['create-endpoint', '-t', 'faketarget', '--endpoint', 'fake_endpoint_name', '-C', 'k=v']);
    expect(create.code).toBe(0);
    expect(create.stdout).toContain('Endpoint fake_endpoint_name is created');
    expect((await fake(['update-endpoint', '-t', 'faketarget', '--endpoint', 'e'])).stdout).toContain('Endpoint e is updated');
    expect((await fake(['delete-endpoint', '-t', 'faketarget', '--endpoint', 'e'])).stdout).toContain('Endpoint e is deleted');
    expect((await fake(['list-endpoints', '-t', 'faketarget'])).stdout).toMatch(/List of all endpoints:\nNAME\s*\nfake_endpoint_name/);
    expect((await fake(['get-endpoint', '-t', 'faketarget', '--endpoint', 'e'])).stdout).toContain('name: e');
  });

  it('--json prints machine-readable results on every command that returns data', async () => {
    const create = JSON.parse(
      (await fake(['create', '-t', 'faketarget', '--name', 'n', '-m', 'm', '-f', 'f', '--json'])).stdout,
    ) as unknown;
    expect(create).toEqual({ name: 'fake_deployment_name', flavor: 'f' });
    expect(JSON.parse((await fake(['list', '-t', 'faketarget', '--json'])).stdout)).toEqual([{ name: 'fake_deployment_name' }]);
    expect(JSON.parse((await fake(['get', '-t', 'faketarget', '--name', 'n', '--json'])).stdout)).toEqual({
      name: 'n',
      key1: 'val1',
      key2: 'val2',
    });
    expect(JSON.parse((await fake(['delete', '-t', 'faketarget', '--name', 'n', '--json'])).stdout)).toEqual({ name: 'n', deleted: true });
    expect(JSON.parse((await fake(['list-endpoints', '-t', 'faketarget', '--json'])).stdout)).toEqual([{ name: 'fake_endpoint_name' }]);
    const failed = await fake(['create', '-t', 'faketarget', '--name', 'n', '-m', 'm', '-C', 'raiseError=True', '--json']);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stderr)).toEqual({ error_code: 'INTERNAL_ERROR', message: 'Error requested' });
  });

  it('--json works on predict, explain, help and run-local too: the document on stdout, errors as the JSON body', async () => {
    const input = inputFile('json-flag.json', '{"inputs": [1]}');
    const predict = await fake(['predict', '-t', 'faketarget', '--name', 'x', '-I', input, '--json']);
    expect(predict.code, predict.stderr).toBe(0);
    expect(JSON.parse(predict.stdout)).toMatchObject({ predictions: [1, 2, 3] });
    const explain = await fake(['explain', '-t', 'faketarget', '--name', 'x', '-I', input, '--json']);
    expect(explain.code, explain.stderr).toBe(0);
    expect(JSON.parse(explain.stdout)).toBe('1');
    const help = await fake(['help', '-t', 'faketarget', '--json']);
    expect(help.code, help.stderr).toBe(0);
    expect(JSON.parse(help.stdout)).toEqual({ target: 'faketarget', help: expect.stringContaining('Target help is called') as unknown });
    const general = JSON.parse((await fake(['help', '--json'])).stdout) as { target: null; installed_targets: string[] };
    expect(general.target).toBeNull();
    expect(general.installed_targets).toEqual(expect.arrayContaining(['faketarget', 'local']));
    const runLocal = await fake(['run-local', '-t', 'faketarget', '--name', 'n', '-m', 'uri', '-f', 'fl', '--json']);
    expect(runLocal.code, runLocal.stderr).toBe(0);
    const lines = runLocal.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { target: string; name: string; message: string });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.target === 'faketarget' && l.name === 'n')).toBe(true);
    expect(lines.map((l) => l.message).join('\n')).toContain('Deployed locally at the key n');
    const failed = await fake(['predict', '-t', 'faketarget', '--name', 'x', '-I', inputFile('bad-json-flag.json', '{"inputs"'), '--json']);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stderr)).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
  });

  it('without -t or MLFLOW_DEPLOYMENTS_TARGET the target is the built-in local one', async () => {
    const home = tempDir('default-home');
    const result = await runCli(['list'], { env: { HOME: home } });
    try {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe('No deployments.\n');
      expect(result.stderr).toContain(`Starting the mldeploy control plane for ${home}/.mldeploy`);
    } finally {
      await runCli(['server', 'stop'], { env: { HOME: home } });
    }
  });

  it('MLFLOW_DEPLOYMENTS_TARGET stands in for -t', async () => {
    const result = await fake(['list'], { MLFLOW_DEPLOYMENTS_TARGET: 'faketarget' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('fake_deployment_name');
  });

  it('--verbose adds the stack trace; without it there is none', async () => {
    const quiet = await fake(['list', '-t', 'faketarget'], { raiseError: 'True' });
    expect(quiet.stderr).toBe('error: INTERNAL_ERROR: Error requested\n');
    const verbose = await fake(['list', '-t', 'faketarget', '--verbose'], { raiseError: 'True' });
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/Error: Error requested\n\s+at /);
  });

  it('--version and --help succeed', async () => {
    expect((await fake(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await fake(['create', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('-C, --config <NAME=VALUE>');
  });
});

describe('help says what is required and what is installed', () => {
  it('create --help marks its required options', async () => {
    const help = await fake(['create', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--name <NAME> +deployment name \(required\)\n/);
    expect(help.stdout).toMatch(/-m, --model-uri <URI> +model URI [^]*?\(required\)\n/);
    expect(help.stdout).toMatch(/-f, --flavor <FLAVOR> +model flavor to serve \(the target picks one by\n\s+default\)\n/);
  });

  it('mldeploy --help, and mldeploy alone, end with the installed targets', async () => {
    for (const args of [['--help'], ['-h'], []]) {
      const help = await fake(args);
      expect(help.code, args.join(' ')).toBe(0);
      const epilog = /\n\nInstalled targets: (.*)\nRun 'mldeploy help -t <target>' for a target's URI forms and config keys\.\n$/.exec(
        help.stdout,
      );
      expect(epilog?.[1]?.split(', ')).toEqual(expect.arrayContaining(['faketarget', 'minimal', 'local']));
    }
    // A subcommand's help is about the subcommand.
    expect((await fake(['list', '--help'])).stdout).not.toContain('Installed targets');
  });
});

describe('one input reader for predict and models predict', () => {
  it('models predict takes a .csv file as CSV without -t, as predict does', async () => {
    const csv = inputFile('regressor.csv', 'age,bmi,bp,s5\n0.038,0.061,0.021,0.019\n');
    const result = await runCli(['models', 'predict', '-m', path.join(FIXTURE_MODELS, 'onnx-regressor'), '-i', csv]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ predictions: [{ variable: expect.any(Number) as number }] });
    // The same file through predict reaches the target as CSV too.
    const viaPredict = await fake(['predict', '-t', 'faketarget', '--name', 'x', '-I', csv]);
    expect((JSON.parse(viaPredict.stdout) as { received: unknown }).received).toEqual({ text: 'age,bmi,bp,s5\n0.038,0.061,0.021,0.019\n' });
  });

  it('models predict names its own flag for a missing file, and says an empty input is empty', async () => {
    const missing = await runCli(['models', 'predict', '-m', path.join(FIXTURE_MODELS, 'onnx-iris'), '-i', '/no/such.csv']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("error: Invalid value for '-i' / '--input-path': Path '/no/such.csv' does not exist.");
    const empty = await runCli(['models', 'predict', '-m', path.join(FIXTURE_MODELS, 'onnx-iris')], { stdin: '\n' });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe(
      'error: INVALID_PARAMETER_VALUE: standard input is empty — Give a JSON or CSV document with the rows to predict.\n',
    );
  });
});

describe('the CLI on the local target', () => {
  const local = localHome('cli');
  afterAll(async () => {
    await local.stop();
  });

  it('a bad -C value is refused before anything starts, in words, naming the value', async () => {
    const hint = " — Run 'mldeploy help -t local' for the keys it accepts (replicas, timeout, max_body_size, port, mlflow_command).\n";
    for (const args of [
      ['create', '--name', 'never', '-m', IRIS, '-C', 'replicas=abc'],
      ['update', '--name', 'never', '-C', 'replicas=abc'],
    ]) {
      const result = await local.cli(...args);
      expect(result.code, args.join(' ')).toBe(1);
      // Only the error: no "Creating/Updating deployment…" line, no control plane started for it.
      expect(result.stderr).toBe(
        `error: INVALID_PARAMETER_VALUE: Invalid config for the local target: replicas must be a whole number from 1 to 32, got 'abc'${hint}`,
      );
    }
  });

  it('history shows each revision’s config, so revisions that differ only in replicas differ', async () => {
    expect((await local.cli('create', '--name', 'hist', '-m', IRIS)).code).toBe(0);
    const update = await local.cli('update', '--name', 'hist', '-C', 'replicas=2');
    expect(update.code, update.stderr).toBe(0);
    const table = await local.cli('history', '--name', 'hist');
    expect(table.code, table.stderr).toBe(0);
    const [header, first, second] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^REV\s+REASON\s+MODEL_URI\s+MODEL_VERSION\s+FLAVOR\s+CONFIG\s+CREATED_AT$/);
    expect(first).toMatch(/^1 +create .* replicas=1 timeout=60 max_body_size=104857600 port=\d+ /);
    expect(second).toMatch(/^2 \* +update .* replicas=2 timeout=60 max_body_size=104857600 port=\d+ /);
    const revisions = await local.json<{ revision: number; config: { replicas: number } }[]>('history', '--name', 'hist');
    expect(revisions.map((r) => [r.revision, r.config.replicas])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('explain says why the local target has none, and its help says the same', async () => {
    const result = await local.cli('explain', '--name', 'any', '-I', inputFile('explain.json', '{"inputs": [[1, 2, 3, 4]]}'));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: NOT_IMPLEMENTED: The "local" target does not implement explain: its deployments serve MLflow's scoring protocol and the Open Inference Protocol, which answer predictions only. — Use 'mldeploy predict'; 'mldeploy help -t local' says what the local target supports (see its explain section).\n`,
    );
    const help = await local.cli('help');
    expect(help.stdout).toContain(
      "\nexplain\n  Not supported: a local deployment serves MLflow's scoring protocol and the Open Inference\n  Protocol, which answer predictions only",
    );
  });

  it('a traffic split that is not JSON says so, with an example', async () => {
    const result = await local.cli('create-endpoint', '--endpoint', 'ep', '-C', 'traffic=hist:100');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: INVALID_PARAMETER_VALUE: Invalid endpoint config for the local target: traffic must be a JSON object such as \{"a":90,"b":10\}: Unexpected token .* is not valid JSON\n$/,
    );
  });
});

describe('CLI usage errors exit 2 with a clear message', () => {
  const input = inputFile('ok.json', '{"inputs": [1]}');
  it.each([
    ['a missing required flag', ['create', '-t', 'faketarget', '-m', 'm'], /required option '--name <NAME>' not specified/],
    ['a missing model URI', ['create', '-t', 'faketarget', '--name', 'n'], /required option '-m, --model-uri <URI>' not specified/],
    ['an empty target', ['list', '-t', ''], /Invalid value for '-t' \/ '--target': the target is empty/],
    [
      '-C without =',
      ['create', '-t', 'faketarget', '--name', 'n', '-m', 'm', '-C', 'novalue'],
      /Config options must be a pair and should be provided as `-C key=value` or `--config key=value`/,
    ],
    ['a repeated -C key', ['create', '-t', 'faketarget', '--name', 'n', '-m', 'm', '-C', 'a=1', '-C', 'a=2'], /Repeated parameter: 'a'/],
    [
      '-C before a bad target (config is checked first)',
      ['create', '-t', 'nowhere', '--name', 'n', '-m', 'm', '-C', 'x'],
      /Config options must be a pair/,
    ],
    [
      'predict with neither --name nor --endpoint',
      ['predict', '-t', 'faketarget', '-I', input],
      /Must specify exactly one of --name or --endpoint\./,
    ],
    [
      'predict with both --name and --endpoint',
      ['predict', '-t', 'faketarget', '--name', 'a', '--endpoint', 'b', '-I', input],
      /Must specify exactly one of --name or --endpoint\./,
    ],
    [
      'predict without --input-path',
      ['predict', '-t', 'faketarget', '--name', 'a'],
      /required option '-I, --input-path <PATH>' not specified/,
    ],
    [
      'an input file that does not exist',
      ['predict', '-t', 'faketarget', '--name', 'a', '-I', '/no/such/file.json'],
      /Invalid value for '-I' \/ '--input-path': Path '\/no\/such\/file.json' does not exist\./,
    ],
    [
      'an unknown --content-type',
      ['predict', '-t', 'faketarget', '--name', 'a', '-I', input, '--content-type', 'xml'],
      /option '--content-type <TYPE>' argument 'xml' is invalid/,
    ],
    ['an unknown option', ['list', '-t', 'faketarget', '--bogus'], /unknown option '--bogus'/],
    ['an unknown command', ['deploy'], /unknown command 'deploy'/],
    [
      'create-endpoint without --endpoint',
      ['create-endpoint', '-t', 'faketarget'],
      /required option '--endpoint <ENDPOINT>' not specified/,
    ],
  ])('%s', async (_what, args, message) => {
    const result = await fake(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});

describe('CLI failed operations exit 1 with one line: code, message, what to do', () => {
  it('an unknown target lists the installed ones and says how to add one', async () => {
    const result = await fake(['list', '-t', 'nowhere']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: RESOURCE_DOES_NOT_EXIST: No plugin found for managing model deployments to "nowhere"\. Installed targets: .*faketarget.* — In order to deploy models to "nowhere", install a package/,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    [
      'missing interfaces',
      'missing-interfaces.mjs',
      /^error: INVALID_PLUGIN: Plugin registered for the target plug .* Missing interfaces: runLocal, targetHelp — Raise an issue with the plugin developers/,
    ],
    [
      'no client class',
      'no-client-class.mjs',
      /^error: INVALID_PLUGIN: Plugin registered for the target plug .* has no child class of BaseDeploymentClient/,
    ],
    [
      'an unknown contract version',
      'future-version.mjs',
      /^error: INVALID_PLUGIN: .*plugin contract version 99, and this mldeploy supports version 1/,
    ],
    [
      'a module that throws on import',
      'throws-on-import.mjs',
      /^error: PLUGIN_LOAD_FAILED: Failed to load the plugin "plug" \(module .*throws-on-import\.mjs from MLDEPLOY_PLUGINS\): cannot connect to the licence server/,
    ],
    ['a module that does not exist', 'nope.mjs', /^error: PLUGIN_LOAD_FAILED: Failed to load the plugin "plug"/],
  ])('a plugin with %s is refused, naming it and the problem', async (_what, file, message) => {
    for (const args of [
      ['list', '-t', 'plug'],
      ['help', '-t', 'plug'],
      ['run-local', '-t', 'plug', '--name', 'n', '-m', 'm'],
    ]) {
      const result = await runCli(args, { env: { MLDEPLOY_PLUGINS: pluginsEnv({ plug: file }) } });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
    }
  });

  it('a package with a bad declaration is refused, naming the package', async () => {
    const project = tempDir('bad-declaration');
    mkdirSync(path.join(project, 'node_modules', 'bad-decl'), { recursive: true });
    writeFileSync(
      path.join(project, 'node_modules', 'bad-decl', 'package.json'),
      JSON.stringify({ name: 'bad-decl', mldeploy: { targets: { bad: '../../elsewhere.js' } } }),
    );
    const result = await runCli(['list', '-t', 'bad'], { cwd: project });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: INVALID_PLUGIN: Plugin registered for the target bad \(package bad-decl at .*\) is declared wrongly: the module path "\.\.\/\.\.\/elsewhere\.js" leaves the package/,
    );
  });

  it('a target without endpoints says NOT_IMPLEMENTED, naming the target and method', async () => {
    const result = await fake(['list-endpoints', '-t', 'minimal']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: NOT_IMPLEMENTED: The "minimal" target does not implement listEndpoints\./);
  });

  it.each([
    ['not JSON', 'bad.json', '{"inputs": [1', /INVALID_PARAMETER_VALUE: Input file .*bad\.json is not valid JSON/],
    ['empty', 'empty.json', '  \n', /INVALID_PARAMETER_VALUE: Input file .*empty\.json is empty/],
    ['a bare number', 'num.json', '42', /INVALID_PARAMETER_VALUE: Input file .*num\.json: expected a JSON object or array, got number/],
    [
      'columns of different lengths',
      'ragged.json',
      '{"a": [1, 2], "b": [1]}',
      /INVALID_PARAMETER_VALUE: Input file .*ragged\.json: the columns have different lengths/,
    ],
  ])('an input file that is %s', async (_what, name, text, message) => {
    const result = await fake(['predict', '-t', 'faketarget', '--name', 'x', '-I', inputFile(name, text)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('a malformed MLDEPLOY_PLUGINS names the variable', async () => {
    const result = await runCli(['list', '-t', 'faketarget'], { env: { MLDEPLOY_PLUGINS: 'oops' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/INVALID_PARAMETER_VALUE: Invalid configuration: MLDEPLOY_PLUGINS entry "oops"/);
  });
});
