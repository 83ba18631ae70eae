/** Audit entries, newest first; each row opens to show what the change did, as a diff of before and after. */
import { useState } from 'preact/hooks';
import type { AuditEntry } from '../../src/protocol.js';
import { Field, Table } from '../components/bits.js';
import { DiffView } from '../components/diff-view.js';
import { formatTime } from '../format.js';

function AuditRow(props: { readonly entry: AuditEntry; readonly showSubject: boolean; readonly columns: number }) {
  const { entry, showSubject } = props;
  const [open, setOpen] = useState(false);
  const detailId = `audit-detail-${entry.id}`;
  const ok = entry.result === 'ok';
  return (
    <>
      <tr data-audit={entry.id}>
        <th scope="row">
          <button type="button" class="disclosure" aria-expanded={open} aria-controls={detailId} onClick={() => setOpen(!open)}>
            <span aria-hidden="true">{open ? '▾' : '▸'} </span>
            <span class="visually-hidden">Changes of entry </span>
            {entry.id}
          </button>
        </th>
        <td>
          <time dateTime={entry.at}>{formatTime(entry.at)}</time>
        </td>
        <td>
          <Field name="actor" text={entry.actor} />
        </td>
        <td>
          <Field name="action" text={entry.action} />
        </td>
        {showSubject && (
          <td>
            <Field name="subject" text={entry.subject} />
          </td>
        )}
        <td class={ok ? 'tone-good' : 'tone-bad'}>
          <span aria-hidden="true">{ok ? '✓ ' : '✕ '}</span>
          <Field name="result" text={entry.result} />
        </td>
      </tr>
      <tr id={detailId} class="audit-detail" hidden={!open}>
        <td colSpan={props.columns}>
          {open && (
            <>
              {entry.detail !== undefined && entry.detail !== '' && (
                <p>
                  Detail: <code>{entry.detail}</code>
                </p>
              )}
              <DiffView
                caption={`Entry ${entry.id}, ${entry.subject} before → after`}
                before={entry.before ?? undefined}
                after={entry.after ?? undefined}
              />
            </>
          )}
        </td>
      </tr>
    </>
  );
}

/** `entries` in any order, shown newest first; `showSubject` adds the subject column. */
export function AuditTable(props: { readonly entries: readonly AuditEntry[]; readonly showSubject: boolean; readonly caption: string }) {
  const entries = [...props.entries].sort((a, b) => b.id - a.id);
  if (entries.length === 0) return <p>No audit entries.</p>;
  const columns = props.showSubject ? 6 : 5;
  return (
    <Table
      caption={props.caption}
      class="audit"
      headings={['Entry', 'At', 'Actor', 'Action', ...(props.showSubject ? ['Subject'] : []), 'Result']}
    >
      {entries.map((entry) => (
        <AuditRow key={entry.id} entry={entry} showSubject={props.showSubject} columns={columns} />
      ))}
    </Table>
  );
}
