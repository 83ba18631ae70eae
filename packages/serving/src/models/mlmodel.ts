import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { MlDeployError } from '@mldeploy/core';
import { parseSignature, type Signature } from './signature.js';

/** An MLflow model directory's `MLmodel` file, read and checked. */
export interface MlModel {
  /** The model directory. */
  readonly dir: string;
  /** Flavor name → that flavor's settings. */
  readonly flavors: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly signature: Signature | undefined;
  /** `serving_input_example.json`: a request body ready to POST, when the model has one. */
  readonly servingInputExample: unknown;
  readonly modelUuid: string | undefined;
  readonly mlflowVersion: string | undefined;
  readonly runId: string | undefined;
  /** The whole document, unknown keys included. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Resolves `relative` inside `dir`, refusing paths that leave it (an MLmodel is user input). */
export function insideModelDir(dir: string, relative: string, what: string): string {
  const resolved = path.resolve(dir, relative);
  const rel = path.relative(dir, resolved);
  if (rel.startsWith('..') || path.isAbsolute(rel) || path.isAbsolute(relative)) {
    throw new MlDeployError(
      'INVALID_PARAMETER_VALUE',
      `${path.join(dir, 'MLmodel')}: ${what} ${JSON.stringify(relative)} points outside the model directory`,
    );
  }
  return resolved;
}

function invalid(file: string, problem: string, hint?: string, cause?: unknown): MlDeployError {
  return new MlDeployError('INVALID_PARAMETER_VALUE', `${file} ${problem}`, {
    hint: hint ?? 'Check that the folder is an MLflow model saved with mlflow.<flavor>.save_model or log_model.',
    cause,
  });
}

/**
 * Reads and checks `<dir>/MLmodel`.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` for a missing, unparsable or malformed file,
 * naming the file and the problem.
 */
export async function readMlModel(dir: string): Promise<MlModel> {
  const file = path.join(dir, 'MLmodel');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw invalid(
      file,
      code === 'ENOENT' ? 'does not exist: the folder is not an MLflow model directory' : `cannot be read (${code ?? String(error)})`,
      undefined,
      error,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos !== undefined ? ` at line ${error.linePos[0].line}` : '';
    throw invalid(file, `is not valid YAML${where}: ${(error as Error).message.split('\n')[0] ?? ''}`, undefined, error);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(file, 'is not a YAML mapping');
  const raw = doc as Record<string, unknown>;
  const flavors = raw['flavors'];
  if (typeof flavors !== 'object' || flavors === null || Array.isArray(flavors) || Object.keys(flavors).length === 0) {
    throw invalid(file, 'has no flavors: every MLflow model declares at least one');
  }
  for (const [name, settings] of Object.entries(flavors)) {
    if (typeof settings !== 'object' || settings === null)
      throw invalid(file, `has a flavor ${JSON.stringify(name)} whose settings are not a mapping`);
  }
  const signature = parseSignature(raw['signature'], file);
  let servingInputExample: unknown;
  const exampleInfo = raw['saved_input_example_info'] as Record<string, unknown> | undefined;
  const servingPath = exampleInfo?.['serving_input_path'];
  if (typeof servingPath === 'string') {
    try {
      servingInputExample = JSON.parse(await readFile(insideModelDir(dir, servingPath, 'serving_input_path'), 'utf8'));
    } catch (error) {
      if (error instanceof MlDeployError) throw error;
      // A missing or broken example only costs the warm-up request its preferred input.
      servingInputExample = undefined;
    }
  }
  const text_ = (key: string): string | undefined => (typeof raw[key] === 'string' ? raw[key] : undefined);
  return {
    dir,
    flavors: flavors as Record<string, Record<string, unknown>>,
    signature,
    servingInputExample,
    modelUuid: text_('model_uuid'),
    mlflowVersion: text_('mlflow_version'),
    runId: text_('run_id'),
    raw,
  };
}
