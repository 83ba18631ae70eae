/** One deployment: its figures and charts, workers, config, logs, history (with diffs and rollback) and audit entries. */
import { useState } from 'preact/hooks';
import {
  auditAnswerSchema,
  deploymentSchema,
  logsAnswerSchema,
  revisionsAnswerSchema,
  type Deployment,
  type Point,
  type Revision,
  type Snapshot,
} from '../../src/protocol.js';
import { postJson } from '../api.js';
import { ErrorNote, Facts, Field, StateBadge, Table } from '../components/bits.js';
import { Chart, type ChartLine } from '../components/chart.js';
import { ConfirmDialog, type ConfirmRequest } from '../components/confirm-dialog.js';
import { DiffView } from '../components/diff-view.js';
import { revisionContent } from '../diff.js';
import { formatJson, formatMs, formatRate, formatRps, formatTime, NO_VALUE } from '../format.js';
import { useFetched } from '../use-fetched.js';
import { AuditTable } from './audit-table.js';
import { latestPoint } from './deployments.js';

const RPS_LINES: readonly ChartLine[] = [{ label: 'requests/s', value: (p) => p.rps }];
const ERROR_LINES: readonly ChartLine[] = [{ label: 'error rate', value: (p) => (p.error_rate === null ? null : p.error_rate * 100) }];
const LATENCY_LINES: readonly ChartLine[] = [
  { label: 'p50', value: (p) => p.p50_ms },
  { label: 'p99', value: (p) => p.p99_ms, dash: [6, 4] },
];
const NO_POINTS: readonly Point[] = [];

const nameRoute = (name: string) => `deployments/${encodeURIComponent(name)}`;

function Figures(props: { readonly deployment: Deployment; readonly point: Point | undefined }) {
  const { deployment: d, point } = props;
  return (
    <Facts
      items={[
        ['State', <StateBadge state={d.state} />],
        ['Model', <Field name="model_uri" text={d.model_uri} />],
        ['Model version', <Field name="model_version" text={d.model_version ?? NO_VALUE} />],
        ['Flavor', <Field name="flavor" text={d.flavor} />],
        ['Revision', <Field name="revision" text={String(d.revision)} />],
        [
          'Replicas (live/wanted)',
          <>
            <Field name="live_replicas" text={String(d.live_replicas)} />/<Field name="replicas" text={String(d.replicas)} />
          </>,
        ],
        ['Restarts', <Field name="restarts" text={String(d.restarts)} />],
        ['Requests/s', <Field name="rps" text={formatRps(point?.rps)} />],
        ['Error rate', <Field name="error_rate" text={formatRate(point?.error_rate)} />],
        ['p50 latency', <Field name="p50_ms" text={formatMs(point?.p50_ms)} />],
        ['p99 latency', <Field name="p99_ms" text={formatMs(point?.p99_ms)} />],
        ['URL', <Field name="url" text={d.url} />],
        ['Through the gateway', <Field name="gateway_url" text={d.gateway_url} />],
        ['Created', formatTime(d.created_at)],
        ['Updated', formatTime(d.updated_at)],
      ]}
    />
  );
}

function Workers(props: { readonly deployment: Deployment }) {
  const { workers } = props.deployment;
  if (workers.length === 0) return <p>No worker is running.</p>;
  return (
    <Table caption="Worker processes" hideCaption headings={['Replica', 'Process id', 'Port']}>
      {workers.map((worker, i) => (
        <tr key={worker.pid} data-worker={worker.pid}>
          <th scope="row">{i}</th>
          <td>
            <Field name="pid" text={String(worker.pid)} />
          </td>
          <td>
            <Field name="port" text={String(worker.port)} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

function Logs(props: { readonly name: string }) {
  const [asked, setAsked] = useState(false);
  const logs = useFetched(asked ? `${nameRoute(props.name)}/logs?tail=200` : null, logsAnswerSchema);
  return (
    <section aria-labelledby="logs-heading">
      <h2 id="logs-heading">Logs</h2>
      <p>
        <button type="button" onClick={() => (asked ? logs.reload() : setAsked(true))} disabled={logs.loading}>
          {logs.loading ? 'Loading…' : asked ? 'Refresh logs' : 'Show the last 200 log records'}
        </button>
      </p>
      <ErrorNote error={logs.error} />
      {logs.data !== null &&
        (logs.data.entries.length === 0 ? (
          <p>No log records.</p>
        ) : (
          <Table
            caption={`The last ${logs.data.entries.length} log records, oldest first`}
            hideCaption
            scrollClass="logs"
            headings={['Time', 'Level', 'Replica', 'Message']}
          >
            {logs.data.entries.map((entry, i) => {
              const level = entry.level ?? 'info';
              return (
                <tr key={i} class={`level-${level}`}>
                  <td>
                    <time dateTime={entry.time}>{formatTime(entry.time)}</time>
                  </td>
                  <td>
                    <Field name="level" text={level} />
                  </td>
                  <td class="num">{entry.replica}</td>
                  <td class="message">{entry.message}</td>
                </tr>
              );
            })}
          </Table>
        ))}
    </section>
  );
}

function RevisionPicker(props: {
  readonly id: string;
  readonly label: string;
  readonly revisions: readonly Revision[];
  readonly value: number;
  readonly onChange: (revision: number) => void;
}) {
  return (
    <label for={props.id}>
      {props.label}{' '}
      <select id={props.id} value={String(props.value)} onChange={(event) => props.onChange(Number(event.currentTarget.value))}>
        {props.revisions.map((r) => (
          <option key={r.revision} value={String(r.revision)}>
            {r.revision}
            {r.current ? ' (current)' : ''}
          </option>
        ))}
      </select>
    </label>
  );
}

function RevisionDiff(props: { readonly revisions: readonly Revision[] }) {
  const { revisions } = props;
  const current = revisions.find((r) => r.current) ?? revisions[0];
  const previous = revisions.find((r) => r.revision < (current?.revision ?? 0));
  const [picked, setPicked] = useState<{ from: number; to: number } | null>(null);
  if (current === undefined || revisions.length < 2) return null;
  const from = picked?.from ?? previous?.revision ?? current.revision;
  const to = picked?.to ?? current.revision;
  const a = revisions.find((r) => r.revision === from);
  const b = revisions.find((r) => r.revision === to);
  return (
    <div class="revision-diff">
      <h3>Compare two revisions</h3>
      <p class="pickers">
        <RevisionPicker
          id="diff-from"
          label="From revision"
          revisions={revisions}
          value={from}
          onChange={(n) => setPicked({ from: n, to })}
        />
        <RevisionPicker id="diff-to" label="to revision" revisions={revisions} value={to} onChange={(n) => setPicked({ from, to: n })} />
      </p>
      {a !== undefined && b !== undefined && (
        <DiffView
          caption={`Revision ${a.revision} → revision ${b.revision}`}
          before={revisionContent(a)}
          after={revisionContent(b)}
          beforeLabel={`Revision ${a.revision}`}
          afterLabel={`Revision ${b.revision}`}
        />
      )}
    </div>
  );
}

function History(props: { readonly deployment: Deployment; readonly onRolledBack: () => void }) {
  const { deployment } = props;
  const revisions = useFetched(`${nameRoute(deployment.name)}/revisions`, revisionsAnswerSchema, deployment.revision);
  const [request, setRequest] = useState<ConfirmRequest | null>(null);
  const sorted = [...(revisions.data?.revisions ?? [])].sort((a, b) => b.revision - a.revision);

  const askRollback = (target: Revision) =>
    setRequest({
      title: `Roll back ${deployment.name} to revision ${target.revision}`,
      body: (
        <p>
          {deployment.name} gets a new revision with the model and config of revision {target.revision} (<code>{target.model_uri}</code>
          {target.model_version === null ? '' : `, version ${target.model_version}`}). Traffic moves to it once it serves; if it cannot
          start, revision {deployment.revision} keeps serving.
        </p>
      ),
      run: async () => {
        const after = await postJson(`${nameRoute(deployment.name)}/rollback`, { to_revision: target.revision }, deploymentSchema);
        revisions.reload();
        props.onRolledBack();
        return `Rolled back ${deployment.name} to revision ${target.revision}: it now serves revision ${after.revision}.`;
      },
    });

  return (
    <section aria-labelledby="history-heading">
      <h2 id="history-heading">History</h2>
      <ErrorNote error={revisions.error} />
      {sorted.length > 0 && (
        <Table
          caption="Revisions, newest first"
          hideCaption
          class="revisions"
          headings={['Revision', 'Current', 'Reason', 'Model', 'Version', 'Created', <span class="visually-hidden">Action</span>]}
        >
          {sorted.map((r) => (
            <tr key={r.revision} data-revision={r.revision} class={r.current ? 'current' : undefined}>
              <th scope="row">
                <Field name="revision" text={String(r.revision)} />
              </th>
              <td>
                {r.current ? (
                  <span data-field="current">
                    <span aria-hidden="true">● </span>current
                  </span>
                ) : (
                  ''
                )}
              </td>
              <td>
                <Field name="reason" text={r.reason} />
              </td>
              <td>
                <Field name="model_uri" text={r.model_uri} />
              </td>
              <td>
                <Field name="model_version" text={r.model_version ?? NO_VALUE} />
              </td>
              <td>
                <time dateTime={r.created_at}>{formatTime(r.created_at)}</time>
              </td>
              <td>
                {!r.current && (
                  <button type="button" onClick={() => askRollback(r)}>
                    Roll back to revision {r.revision}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
      <RevisionDiff revisions={sorted} />
      <ConfirmDialog request={request} onDone={() => setRequest(null)} />
    </section>
  );
}

function DeploymentAudit(props: { readonly name: string; readonly version: unknown }) {
  const audit = useFetched(`audit?subject=${encodeURIComponent(props.name)}&limit=50`, auditAnswerSchema, props.version);
  return (
    <section aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit entries</h2>
      <ErrorNote error={audit.error} />
      {audit.data !== null && (
        <AuditTable entries={audit.data.entries} showSubject={false} caption={`The last 50 audit entries of ${props.name}, newest first`} />
      )}
    </section>
  );
}

/** The deployment named `name`: from the snapshot while it is there, else asked for (a 404 says it is gone). */
export function DeploymentDetail(props: { readonly name: string; readonly snapshot: Snapshot }) {
  const { name, snapshot } = props;
  const live = snapshot.deployments.find((d) => d.name === name);
  const fetched = useFetched(live === undefined ? nameRoute(name) : null, deploymentSchema);
  const [changes, setChanges] = useState(0);
  const deployment = live ?? fetched.data;
  if (deployment === null) return <ErrorNote error={fetched.error} />;
  const series = Object.hasOwn(snapshot.series, name) ? snapshot.series[name]! : NO_POINTS;
  return (
    <div data-deployment={name}>
      {deployment.state === 'failed' && deployment.error !== undefined && (
        <p class="note note-error" role="alert">
          <span aria-hidden="true">✕ </span>
          <span data-field="error">{deployment.error}</span>
        </p>
      )}
      <Figures deployment={deployment} point={latestPoint(snapshot, name)} />
      <section aria-labelledby="charts-heading">
        <h2 id="charts-heading">Traffic, last 10 minutes</h2>
        <div class="charts">
          <Chart title="Requests per second" unit="req/s" series={series} lines={RPS_LINES} />
          <Chart title="Error rate" unit="%" series={series} lines={ERROR_LINES} />
          <Chart title="Latency" unit="ms" series={series} lines={LATENCY_LINES} />
        </div>
      </section>
      <section aria-labelledby="workers-heading">
        <h2 id="workers-heading">Workers</h2>
        <Workers deployment={deployment} />
      </section>
      <section aria-labelledby="config-heading">
        <h2 id="config-heading">Config</h2>
        <pre class="json" data-field="config">
          {formatJson(deployment.config)}
        </pre>
      </section>
      <Logs name={name} />
      <History deployment={deployment} onRolledBack={() => setChanges((n) => n + 1)} />
      <DeploymentAudit name={name} version={`${deployment.revision}:${changes}`} />
    </div>
  );
}
