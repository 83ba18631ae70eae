import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../test/support/paths.js';
import { specJsonSchemaText } from '../src/spec/spec-schema.js';

const COMMITTED = path.join(REPO_ROOT, 'schemas', 'mldeploy-spec.schema.json');

describe('the JSON Schema of spec files', () => {
  // `npm run schema:spec` runs this file with MLDEPLOY_WRITE_SPEC_SCHEMA=1 to write it again.
  it('schemas/mldeploy-spec.schema.json is the one generated from the zod schema', () => {
    if (process.env['MLDEPLOY_WRITE_SPEC_SCHEMA'] === '1') {
      mkdirSync(path.dirname(COMMITTED), { recursive: true });
      writeFileSync(COMMITTED, specJsonSchemaText());
    }
    expect(readFileSync(COMMITTED, 'utf8'), 'regenerate it with: npm run schema:spec').toBe(specJsonSchemaText());
  });

  it('describes what editors complete: the keys, the rollout policy, names and weights', () => {
    const schema = JSON.parse(specJsonSchemaText()) as {
      $schema: string;
      required: string[];
      properties: {
        targets: {
          items: { properties: Record<string, { additionalProperties: { properties: Record<string, unknown> }; propertyNames?: unknown }> };
        };
      };
    };
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.required).toEqual(['apiVersion', 'targets']);
    const target = schema.properties.targets.items.properties;
    expect(Object.keys(target)).toEqual(['target', 'deployments', 'endpoints']);
    expect(Object.keys(target['deployments']!.additionalProperties.properties)).toEqual(['model_uri', 'flavor', 'config', 'rollout']);
    expect(target['deployments']!.propertyNames).toEqual({ type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$' });
    const endpoint = target['endpoints']!.additionalProperties.properties;
    expect(endpoint['rollout']).toMatchObject({
      properties: { strategy: { enum: ['all-at-once', 'canary', 'linear', 'blue-green', 'shadow-then-canary'] } },
    });
    expect(endpoint['traffic']).toMatchObject({ additionalProperties: { type: 'integer', minimum: 0, maximum: 100 } });
  });
});
