import { MlDeployError } from '../errors/index.js';
import { columnsToTable, isRecord, maxOf, recordsToTable, type Table } from './table.js';

function isArray(value: unknown): value is unknown[] {
  return Array.isArray(value);
}

/**
 * The response of a prediction: the scoring protocol's `{"predictions": …}` document, with any
 * other fields the server sent kept as they came.
 *
 * The views follow what MLflow's `get_predictions` builds with pandas: {@link asRecords} and
 * {@link asColumns} are the DataFrame view (a list of records becomes rows, a dict of lists
 * becomes columns, a dict of scalars one row, a scalar one cell in column `"0"`), {@link asArray}
 * the ndarray view.
 *
 * @example
 * ```ts
 * const response = await client.predict('iris', { inputs: [[5.1, 3.5, 1.4, 0.2]] });
 * response.asRecords(); // [{ "0": 0 }]
 * JSON.stringify(response); // '{"predictions":[0]}'
 * ```
 */
export class PredictionsResponse {
  /** The `predictions` field, as the server sent it. */
  readonly predictions: unknown;
  private readonly document: Readonly<Record<string, unknown>>;

  /** @param document - a parsed response; it must contain `predictions`. */
  constructor(document: Readonly<Record<string, unknown>>) {
    if (!Object.hasOwn(document, 'predictions')) {
      throw PredictionsResponse.invalid(document);
    }
    this.document = document;
    this.predictions = document['predictions'];
  }

  /**
   * Parses the JSON text of a response.
   *
   * @throws MlDeployError `INTERNAL_ERROR` when the text is not JSON, or is not an object with a
   * `predictions` field (MLflow's two error cases, with its messages).
   */
  static fromJSON(text: string): PredictionsResponse {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new MlDeployError('INTERNAL_ERROR', 'Predictions response contents are not valid JSON', { cause: error });
    }
    return PredictionsResponse.from(parsed);
  }

  /** Wraps an already parsed response, with the same checks as {@link fromJSON}. */
  static from(value: unknown): PredictionsResponse {
    if (!isRecord(value)) throw PredictionsResponse.invalid(value);
    return new PredictionsResponse(value);
  }

  private static invalid(received: unknown): MlDeployError {
    return new MlDeployError(
      'INTERNAL_ERROR',
      `Invalid response. Predictions response contents must be a dictionary containing a 'predictions' field. Instead, received: ${JSON.stringify(received)}`,
    );
  }

  /** The whole document; `JSON.stringify(response)` uses it. */
  toJSON(): Record<string, unknown> {
    return { ...this.document };
  }

  /** The predictions as rows, each a record of column name to value. */
  asRecords(): Record<string, unknown>[] {
    const { columns, rows } = this.table();
    return rows.map((row) => Object.fromEntries(columns.map((column, i) => [column, row[i]])));
  }

  /** The predictions as columns, each a column name with its values in row order. */
  asColumns(): Record<string, unknown[]> {
    const { columns, rows } = this.table();
    return Object.fromEntries(columns.map((column, i) => [column, rows.map((row) => row[i])]));
  }

  /**
   * The predictions as (possibly nested) arrays, like `numpy.array(predictions)`: a list stays as
   * it is, except that records become rows of values; a dict of columns becomes rows.
   */
  asArray(): unknown[] {
    const p = this.predictions;
    if (isArray(p)) {
      return p.every(isRecord) && p.length > 0 ? this.table().rows.map((row) => [...row]) : [...p];
    }
    if (isRecord(p)) return this.table().rows.map((row) => [...row]);
    return [p];
  }

  private table(): Table {
    const p = this.predictions;
    if (isArray(p)) {
      if (p.length > 0 && p.every(isRecord)) return recordsToTable(p);
      if (p.length > 0 && p.every(isArray)) {
        const width = maxOf(p, (row) => row.length);
        return { columns: Array.from({ length: width }, (_, i) => String(i)), rows: p };
      }
      return { columns: ['0'], rows: p.map((value) => [value]) };
    }
    if (isRecord(p)) return columnsToTable(p);
    return { columns: ['0'], rows: [[p]] };
  }
}
