/** A key-by-key diff as a table, each row marked in text (added / removed / changed) as well as colour. */
import { diffValues, type DiffRow } from '../diff.js';
import { formatValue } from '../format.js';

const MARKS: Readonly<Record<DiffRow['kind'], string>> = { added: '+', removed: '−', changed: '~' };

/** The differences from `before` to `after` (undefined: absent), under `caption`. */
export function DiffView(props: {
  readonly before: unknown;
  readonly after: unknown;
  readonly caption: string;
  readonly beforeLabel?: string;
  readonly afterLabel?: string;
}) {
  const diff = diffValues(props.before, props.after);
  if (diff.rows.length === 0) {
    return (
      <p class="diff-empty">
        {props.caption}: no differences{diff.unchanged > 0 ? ` (${diff.unchanged} values the same)` : ''}.
      </p>
    );
  }
  return (
    <table class="diff">
      <caption>
        {props.caption}: {diff.rows.length} difference{diff.rows.length === 1 ? '' : 's'}
        {diff.unchanged > 0 ? `, ${diff.unchanged} values the same` : ''}
      </caption>
      <thead>
        <tr>
          <th scope="col">Change</th>
          <th scope="col">Key</th>
          <th scope="col">{props.beforeLabel ?? 'Before'}</th>
          <th scope="col">{props.afterLabel ?? 'After'}</th>
        </tr>
      </thead>
      <tbody>
        {diff.rows.map((row) => (
          <tr key={row.path} class={`diff-${row.kind}`} data-diff={row.kind} data-key={row.path}>
            <td>
              <span aria-hidden="true">{MARKS[row.kind]} </span>
              {row.kind}
            </td>
            <th scope="row">
              <code>{row.path === '' ? '(whole value)' : row.path}</code>
            </th>
            <td>{row.kind === 'added' ? '' : <code>{formatValue(row.before)}</code>}</td>
            <td>{row.kind === 'removed' ? '' : <code>{formatValue(row.after)}</code>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
