/** Small pieces every view uses: values tagged for tests and scripts, states in words and symbols. */
import type { ComponentChildren } from 'preact';
import { stateLook } from '../format.js';
import type { DashboardError } from '../api.js';

/** A displayed value: its element carries `data-field` with exactly the text shown. */
export function Field(props: { readonly name: string; readonly text: string; readonly deployment?: string }) {
  return (
    <span data-field={props.name} data-deployment={props.deployment}>
      {props.text}
    </span>
  );
}

/** A state as a symbol and a word (never colour alone); the word is the `state` field. */
export function StateBadge(props: { readonly state: string; readonly field?: string }) {
  const look = stateLook(props.state);
  return (
    <span class={`state tone-${look.tone}`}>
      <span class="state-symbol" aria-hidden="true">
        {look.symbol}
      </span>{' '}
      <Field name={props.field ?? 'state'} text={props.state} />
    </span>
  );
}

/** A failed request's message and hint, announced as an alert. */
export function ErrorNote(props: { readonly error: DashboardError | null; readonly children?: ComponentChildren }) {
  if (props.error === null) return null;
  return (
    <div class="note note-error" role="alert">
      <p>
        <span aria-hidden="true">✕ </span>
        {props.children}
        {props.error.message}
      </p>
      {props.error.hint !== undefined && <p class="hint">{props.error.hint}</p>}
    </div>
  );
}

/** A label/value list (`<dl>`) for one record's figures. */
export function Facts(props: { readonly items: ReadonlyArray<readonly [string, ComponentChildren]> }) {
  return (
    <dl class="facts">
      {props.items.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * A data table: a caption (hidden when the heading above already says it), one column heading
 * each (`<th scope="col">`), and its rows; wide tables scroll on their own instead of the page.
 */
export function Table(props: {
  readonly caption: string;
  readonly hideCaption?: boolean;
  readonly headings: readonly ComponentChildren[];
  readonly class?: string;
  readonly scrollClass?: string;
  readonly children: ComponentChildren;
}) {
  return (
    <div class={props.scrollClass === undefined ? 'table-scroll' : `table-scroll ${props.scrollClass}`}>
      <table class={props.class}>
        <caption class={props.hideCaption === true ? 'visually-hidden' : undefined}>{props.caption}</caption>
        <thead>
          <tr>
            {props.headings.map((heading, i) => (
              <th scope="col" key={i}>
                {heading}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}
