import { expect } from 'vitest';
import type { CliResult } from '../../../../test/support/run-cli.js';
import { tempFile } from '../../../../test/support/temp.js';

/** Runs `mldeploy predict --name <name>` (through `cli`) on two iris flowers and checks the model's real labels. */
export async function expectIrisLabels(cli: (...args: string[]) => Promise<CliResult>, name: string): Promise<void> {
  const input = tempFile(
    'iris.json',
    JSON.stringify({
      inputs: [
        [5.1, 3.5, 1.4, 0.2],
        [6.7, 3.1, 5.6, 2.4],
      ],
    }),
  );
  const predicted = await cli('predict', '--name', name, '-I', input);
  expect(predicted.code, predicted.stderr).toBe(0);
  expect(JSON.parse(predicted.stdout)).toMatchObject({ predictions: { label: [0, 2] } });
}
