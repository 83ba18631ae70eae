/**
 * The one way the page changes anything: a modal `<dialog>` that says what will happen, and only
 * on Confirm runs the change. Its result is announced; a failure stays in the dialog to be read.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { DashboardError } from '../api.js';
import { usePage } from '../context.js';
import { ErrorNote } from './bits.js';

/** Ends `text` with a full stop unless it has its own. */
const sentence = (text: string) => (/[.!?…]$/.test(text) ? text : `${text}.`);

/** A change waiting for confirmation. */
export interface ConfirmRequest {
  readonly title: string;
  /** What will happen, in words. */
  readonly body: ComponentChildren;
  /** Makes the change; resolves to the sentence to announce. */
  readonly run: () => Promise<string>;
}

/** Shows `request` (null: closed); `onDone` is called when it closes, whichever way. */
export function ConfirmDialog(props: { readonly request: ConfirmRequest | null; readonly onDone: () => void }) {
  const { announce } = usePage();
  const dialog = useRef<HTMLDialogElement>(null);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<DashboardError | null>(null);
  const { request, onDone } = props;

  useEffect(() => {
    const element = dialog.current;
    if (element === null) return;
    if (request !== null && !element.open) {
      setError(null);
      setPending(false);
      element.showModal();
    } else if (request === null && element.open) {
      element.close();
    }
  }, [request]);

  const confirm = async () => {
    if (request === null) return;
    setPending(true);
    setError(null);
    try {
      const message = await request.run();
      announce(message);
      onDone();
    } catch (caught) {
      const failure = caught instanceof DashboardError ? caught : new DashboardError(String(caught));
      setError(failure);
      announce(`${request.title} failed: ${sentence(failure.message)}${failure.hint === undefined ? '' : ` ${failure.hint}`}`);
    } finally {
      setPending(false);
    }
  };

  return (
    // Escape closes a modal dialog natively; `close` tells the owner.
    <dialog ref={dialog} class="confirm" aria-labelledby="confirm-title" onClose={onDone}>
      {request !== null && (
        <div>
          <h2 id="confirm-title">{request.title}</h2>
          <div class="confirm-body">{request.body}</div>
          <ErrorNote error={error} />
          <div class="confirm-buttons">
            <button type="button" class="primary" onClick={() => void confirm()} disabled={pending}>
              Confirm
            </button>
            <button type="button" onClick={onDone} disabled={pending} autofocus>
              Cancel
            </button>
          </div>
          {pending && <p class="pending">Working…</p>}
        </div>
      )}
    </dialog>
  );
}
