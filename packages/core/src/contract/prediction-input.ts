import { MlDeployError } from '../errors/index.js';

/** The four input fields of MLflow's scoring protocol. */
export const SCORING_FORMAT_KEYS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;

/** A request body in MLflow's scoring protocol: exactly one format field, plus optional params. */
export interface ScoringRequest {
  readonly dataframe_split?: {
    readonly columns?: readonly string[];
    readonly data: readonly unknown[];
    readonly index?: readonly unknown[];
  };
  readonly dataframe_records?: readonly Readonly<Record<string, unknown>>[];
  readonly instances?: unknown;
  readonly inputs?: unknown;
  readonly params?: Readonly<Record<string, unknown>>;
}

const CSV_BRAND = Symbol.for('mldeploy.CsvInput');

/** CSV text to send as `text/csv`, as `pandas.DataFrame.to_csv()` writes it (a header row first). */
export class CsvInput {
  /** @param text - the CSV document. */
  constructor(readonly text: string) {
    Object.defineProperty(this, CSV_BRAND, { value: true });
  }

  /** Matches instances from any copy of mldeploy. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CSV_BRAND] === true;
  }
}

/**
 * What `predict` accepts: a scoring-protocol body (sent as it is), an array (sent as
 * `{"inputs": …}`, like MLflow's scoring client), any other object (also sent as `{"inputs": …}`),
 * or {@link CsvInput}.
 */
export type PredictionInput = ScoringRequest | readonly unknown[] | Readonly<Record<string, unknown>> | CsvInput;

/** An HTTP body ready to POST to a scoring server's `/invocations`. */
export interface EncodedScoringRequest {
  readonly contentType: 'application/json' | 'text/csv';
  readonly body: string;
}

// Bodies with these keys are the unified LLM format and go to the model unwrapped.
const LLM_KEYS = ['messages', 'prompt', 'input'];

/**
 * Encodes prediction inputs as a scoring-protocol request body.
 *
 * @throws MlDeployError `INVALID_PARAMETER_VALUE` for inputs that have no JSON form.
 */
export function encodeScoringRequest(input: PredictionInput | undefined): EncodedScoringRequest {
  if (input instanceof CsvInput) return { contentType: 'text/csv', body: input.text };
  if (input === undefined || input === null) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', 'predict needs inputs', {
      hint: 'Pass a scoring-protocol body such as {"inputs": [[1, 2]]} or {"dataframe_split": {...}}.',
    });
  }
  let body: unknown;
  if (Array.isArray(input)) {
    body = { inputs: input };
  } else if (typeof input === 'object') {
    const keys = Object.keys(input);
    const isScoring = keys.some((k) => (SCORING_FORMAT_KEYS as readonly string[]).includes(k) || LLM_KEYS.includes(k));
    body = isScoring ? input : { inputs: input };
  } else {
    body = { inputs: input };
  }
  try {
    return { contentType: 'application/json', body: JSON.stringify(body) };
  } catch (error) {
    throw new MlDeployError('INVALID_PARAMETER_VALUE', `predict inputs cannot be encoded as JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
