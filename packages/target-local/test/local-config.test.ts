import { describe, expect, it } from 'vitest';
import { parseDeploymentSettings, parseEndpointSettings } from '../src/server/local-config.js';

/** The message a parse throws, or a failure when it does not throw. */
function messageOf(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the settings to be refused');
}

const deployment = (config: Record<string, unknown>): string => messageOf(() => parseDeploymentSettings(config));
const endpoint = (config: Record<string, unknown>): string => messageOf(() => parseEndpointSettings(config));

describe('local config messages say what the key wants and quote what it got', () => {
  it.each([
    ['replicas', 'abc', "replicas must be a whole number from 1 to 32, got 'abc'"],
    ['replicas', '0', "replicas must be a whole number from 1 to 32, got '0'"],
    ['replicas', '1.5', "replicas must be a whole number from 1 to 32, got '1.5'"],
    ['replicas', '', "replicas must be a whole number from 1 to 32, got ''"],
    ['max_body_size', '10', "max_body_size must be a whole number from 1024 to 2147483648, got '10'"],
    ['port', '70000', "port must be a whole number from 0 to 65535, got '70000'"],
    ['port', true, 'port must be a whole number from 0 to 65535, got true'],
  ])('whole numbers: %s=%s', (key, value, message) => {
    expect(deployment({ [key]: value })).toBe(`Invalid config for the local target: ${message}`);
  });

  it.each([
    ['timeout', 'soon', "timeout must be a number above 0 and at most 86400, got 'soon'"],
    ['timeout', '0', "timeout must be a number above 0 and at most 86400, got '0'"],
  ])('numbers: %s=%s', (key, value, message) => {
    expect(deployment({ [key]: value })).toBe(`Invalid config for the local target: ${message}`);
  });

  it('strings, and keys it does not have', () => {
    expect(deployment({ mlflow_command: '' })).toBe(
      "Invalid config for the local target: mlflow_command must be the path of an mlflow command, got ''",
    );
    expect(deployment({ colour: 'blue', replicas: 'x' })).toBe(
      'Invalid config for the local target: ' +
        "replicas must be a whole number from 1 to 32, got 'x'; " +
        "A local deployment has no key 'colour'; its keys are replicas, timeout, max_body_size, port, mlflow_command",
    );
  });

  it('good values pass, strings from -C and numbers from the API alike', () => {
    expect(parseDeploymentSettings({ replicas: '2', timeout: '0.5', port: 8080 })).toMatchObject({ replicas: 2, timeout: 0.5, port: 8080 });
    expect(parseEndpointSettings({ traffic: '{"a": 90, "b": "10"}', shadow: { deployment: 'c', percent: '20' } })).toEqual({
      traffic: { a: 90, b: 10 },
      stickyHeader: null,
      shadow: { deployment: 'c', percent: 20 },
    });
  });

  it.each([
    [
      { traffic: 'a=90,b=10' },
      /^traffic must be a JSON object such as \{"a":90,"b":10\}: Unexpected token .*a=90,b=10.* is not valid JSON$/,
    ],
    [{ traffic: '[100]' }, /^traffic must be a JSON object such as \{"a":90,"b":10\}, got '\[100\]'$/],
    [{ traffic: '{"a": "most"}' }, /^each traffic weight must be a whole number from 0 to 100, got 'most'$/],
    [{ traffic: { a: 100 }, sticky_header: '' }, /^sticky_header must be a header name such as x-user-id, got ''$/],
    [{ traffic: { a: 100 }, shadow: '{"deployment": "c"' }, /^shadow must be a JSON object such as \{"deployment":"c","percent":20\}: /],
    [{ traffic: { a: 100 }, shadow: '{"deployment": "c", "percent": 120}' }, /^shadow\.percent must be a number from 0 to 100, got 120$/],
    [
      { traffic: { a: 100 }, shadow: '{"deployment": "c", "percent": 1, "x": 1}' },
      /^shadow has no key 'x'; its keys are deployment, percent$/,
    ],
  ])('JSON objects: %j', (config, message) => {
    expect(endpoint(config).replace('Invalid endpoint config for the local target: ', '')).toMatch(message);
  });
});
