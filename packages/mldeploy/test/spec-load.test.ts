import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../../../test/support/paths.js';
import { tempDir } from '../../../test/support/temp.js';
import { loadSpecFile, parseSpec } from '../src/spec/load-spec.js';
import { SpecError, type SpecProblem } from '../src/spec/spec-error.js';

/** YAML for any value (yaml's stringify gives undefined for undefined). */
const yamlText = (value: unknown): string => stringify(value) ?? '';

/** The problems a text has, as `line:column path: message`. */
function problemsOf(text: string): string[] {
  try {
    parseSpec(text, '/specs/s.yaml');
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    return error.problems.map((p: SpecProblem) => `${p.line ?? '-'}:${p.column ?? '-'} ${p.path}: ${p.message}`);
  }
  throw new Error('the spec parsed');
}

describe('spec files: loading and their problems', () => {
  it('parses a spec; relative model paths are relative to the file, URIs stay as they are', () => {
    const spec = parseSpec(
      `apiVersion: mldeploy/v1
targets:
  - target: local:/srv/mldeploy
    deployments:
      a: { model_uri: ../models/iris, config: { replicas: 2, debug: true, shadow: { deployment: b } } }
      b: { model_uri: "models:/iris@champion", flavor: onnx }
      c: { model_uri: /abs/iris }
    endpoints:
      ab: { traffic: { a: 90, b: 10 }, config: { sticky_header: x-user, shadow: null } }
`,
      '/specs/team/s.yaml',
    );
    const [target] = spec.targets;
    expect(target!.deployments['a']).toEqual({
      model_uri: '/specs/models/iris',
      config: { replicas: 2, debug: true, shadow: { deployment: 'b' } },
    });
    expect(target!.deployments['b']!.model_uri).toBe('models:/iris@champion');
    expect(target!.deployments['c']!.model_uri).toBe('/abs/iris');
    expect(target!.endpoints['ab']).toEqual({ traffic: { a: 90, b: 10 }, config: { sticky_header: 'x-user', shadow: null } });
  });

  it('lists every problem at once, each with its path and line:column', () => {
    expect(
      problemsOf(`apiVersion: mldeploy/v2
targets:
  - target: local
    deployments:
      a:
        flavor: onnx
        colour: blue
      "bad name": { model_uri: m }
      c: { model_uri: m, config: { list: [1, 2] } }
    endpoints:
      e:
        traffic: { a: 90, c: 20 }
        config: { traffic: x }
        rollout: { strategy: canary }
  - target: local
    extra: 1
`),
    ).toEqual([
      '1:13 apiVersion: apiVersion must be mldeploy/v1',
      '5:7 targets[0].deployments.a.model_uri: is required (model_uri is a string: a path (relative to the spec file), runs:/…, models:/name@alias, s3://…)',
      '7:9 targets[0].deployments.a.colour: unknown key (a deployment has the keys model_uri, flavor, config, rollout)',
      '8:7 targets[0].deployments["bad name"]: a deployment name has 1 to 63 characters: letters, digits, ".", "_" and "-", starting with a letter or digit',
      '9:42 targets[0].deployments.c.config.list: a config value is a string, a number, true/false or a mapping',
      '12:18 targets[0].endpoints.e.traffic: the traffic weights sum to 110; they must sum to 100',
      "13:28 targets[0].endpoints.e.config.traffic: traffic is the endpoint's own key, beside config, not in it",
      // A missing key: the key of the mapping it is missing from.
      '14:9 targets[0].endpoints.e.rollout.steps: a canary rollout needs steps: [{weight, bakeSeconds}, …]',
      '16:5 targets[1].extra: unknown key (a target has the keys target, deployments, endpoints)',
      '15:13 targets[1].target: target local is already listed at targets[0]',
    ]);
  });

  it('reports YAML syntax errors with their lines, and nothing else', () => {
    expect(problemsOf('apiVersion: mldeploy/v1\ntargets:\n  - target: local\n    target: local\n  - [a\n')).toEqual([
      '4:5 : YAML: Map keys must be unique',
      '6:1 : YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    expect(problemsOf('a: 1\n---\nb: 2\n')[0]).toMatch(/^2:1 : YAML: Source contains multiple documents/);
  });

  it('an empty file, a scalar, an alias cycle and an alias bomb are problems, not crashes', () => {
    expect(problemsOf('')).toEqual(['-:- : Invalid input: expected object, received null']);
    expect(problemsOf('just text')).toEqual(['1:1 : Invalid input: expected object, received string']);
    expect(problemsOf('apiVersion: mldeploy/v1\ntargets: &t [*t]\n')).toEqual([
      '-:- targets[0]: YAML: an alias refers to a node that contains it',
    ]);
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
    ];
    expect(problemsOf(`${bomb.join('\n')}\n`)[0]).toMatch(/^-:- : YAML: .*alias/i);
  });

  it('a file that cannot be read is a spec error', async () => {
    await expect(loadSpecFile('no-such.yaml', tempDir('spec-missing'))).rejects.toThrow(
      new SpecError('no-such.yaml', [{ path: '', message: 'cannot read the spec: no such file' }]),
    );
  });

  it('loadSpecFile resolves model paths against the file’s folder, wherever the command runs', async () => {
    const folder = tempDir('spec-folder');
    writeFileSync(
      path.join(folder, 's.yaml'),
      'apiVersion: mldeploy/v1\ntargets:\n  - target: local\n    deployments: { a: { model_uri: ./m } }\n',
    );
    const { spec } = await loadSpecFile('s.yaml', folder);
    expect(spec.targets[0]!.deployments['a']!.model_uri).toBe(path.join(folder, 'm'));
  });

  it('the example spec loads', async () => {
    const { spec } = await loadSpecFile('examples/specs/iris.yaml', REPO_ROOT);
    expect(spec.targets[0]!.deployments['iris-blue']!.model_uri).toBe(path.join(REPO_ROOT, 'fixtures', 'models', 'onnx-iris'));
  });

  it('no input text makes the loader throw anything but a SpecError (property)', () => {
    const yamlish = fc.string({ unit: fc.constantFrom(...'ab:- \n\t{}[],&*!|>\'"#%@`?~0.:/'.split('')), maxLength: 200 });
    // Near-valid specs, so that the schema's deeper checks (names, weights, rollouts, config values) run too.
    const name = fc.oneof(fc.constantFrom('a', 'b', 'iris-2', 'bad name', ''), fc.string());
    const specLike = fc
      .record({
        apiVersion: fc.oneof({ arbitrary: fc.constant('mldeploy/v1'), weight: 4 }, fc.anything()),
        targets: fc.array(
          fc.record(
            {
              target: fc.oneof(fc.constantFrom('local', 'local:/x', 'sagemaker:/us-east-1', '', '/x'), fc.anything()),
              deployments: fc.dictionary(
                name,
                fc.record(
                  {
                    model_uri: fc.oneof(fc.string(), fc.anything()),
                    flavor: fc.oneof(fc.constant('onnx'), fc.anything()),
                    config: fc.oneof(
                      fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.object())),
                      fc.anything(),
                    ),
                    rollout: fc.oneof(
                      fc.record({
                        strategy: fc.constantFrom('all-at-once', 'canary', 'bogus'),
                        steps: fc.array(fc.record({ weight: fc.integer(), bakeSeconds: fc.integer() })),
                      }),
                      fc.anything(),
                    ),
                  },
                  { requiredKeys: [] },
                ),
              ),
              endpoints: fc.dictionary(
                name,
                fc.record(
                  { traffic: fc.oneof(fc.dictionary(name, fc.integer({ min: -1, max: 101 })), fc.anything()), config: fc.anything() },
                  { requiredKeys: [] },
                ),
              ),
            },
            { requiredKeys: [] },
          ),
        ),
      })
      .map(yamlText);
    const anything = fc.anything().map(yamlText);
    fc.assert(
      fc.property(fc.oneof(fc.string(), yamlish, specLike, anything), (text) => {
        try {
          parseSpec(text, '/specs/s.yaml');
        } catch (error) {
          if (!(error instanceof SpecError)) throw error;
          expect(error.problems.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
