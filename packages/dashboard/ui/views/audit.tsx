/** The audit view: the log's last 200 entries. */
import { auditAnswerSchema } from '../../src/protocol.js';
import { ErrorNote } from '../components/bits.js';
import { useFetched } from '../use-fetched.js';
import { AuditTable } from './audit-table.js';

/** The last 200 audit entries, newest first, refreshed on demand. */
export function AuditView() {
  const audit = useFetched('audit?limit=200', auditAnswerSchema);
  return (
    <>
      <p>
        <button type="button" onClick={audit.reload} disabled={audit.loading}>
          {audit.loading ? 'Loading…' : 'Refresh'}
        </button>
      </p>
      <ErrorNote error={audit.error} />
      {audit.data !== null && (
        <AuditTable entries={audit.data.entries} showSubject caption="The last 200 entries of the audit log, newest first" />
      )}
    </>
  );
}
