import { UsageError } from './usage-error.js';

/**
 * Turns repeated `-C NAME=VALUE` flags into a config object, as MLflow does: each item is split
 * on its first `=` (values may contain `=`), values stay strings, a key may appear once.
 *
 * @throws UsageError for an item without `=` or a repeated key.
 */
export function parseConfigArgs(items: readonly string[]): Record<string, string> {
  const config: Record<string, string> = {};
  for (const item of items) {
    const at = item.indexOf('=');
    if (at <= 0) {
      throw new UsageError(
        `Config options must be a pair and should be provided as \`-C key=value\` or \`--config key=value\` (got ${JSON.stringify(item)})`,
      );
    }
    const key = item.slice(0, at);
    if (Object.hasOwn(config, key)) throw new UsageError(`Repeated parameter: '${key}'`);
    config[key] = item.slice(at + 1);
  }
  return config;
}
