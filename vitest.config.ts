import { defineConfig } from 'vitest/config';
import { plainOutputUnlessColour } from './test/support/plain-output.js';

// Colour only for a person at a terminal (or with FORCE_COLOR), as the lint tools do.
plainOutputUnlessColour();

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // Tests start real processes (the CLI, MLflow's scoring server); generous limits, with
    // deadlines inside the tests for anything that waits.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
