import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The built CLI entry, as `npx mldeploy` runs it. */
export const CLI_BIN = path.join(REPO_ROOT, 'packages', 'mldeploy', 'bin', 'mldeploy.js');

/** The project's Python venv (made by .ci/run); override with MLDEPLOY_TEST_VENV. */
export const VENV = process.env['MLDEPLOY_TEST_VENV'] ?? path.join(REPO_ROOT, '.venv');

/** Real MLflow model directories written by python/make_fixtures.py. */
export const FIXTURE_MODELS = path.join(REPO_ROOT, 'fixtures', 'models');
