/** The home view: every target's deployments, the local one first with its live figures. */
import type { Deployment, Point, RemoteTarget, Snapshot } from '../../src/protocol.js';
import { Field, StateBadge, Table } from '../components/bits.js';
import { formatAge, formatMs, formatRate, formatRps, formatTime, NO_VALUE } from '../format.js';
import { remoteCell, remoteColumns } from '../remote.js';
import { routeHref } from '../route.js';

/** The latest point of a deployment's series, if any. */
export const latestPoint = (snapshot: Snapshot, name: string): Point | undefined =>
  Object.hasOwn(snapshot.series, name) ? snapshot.series[name]!.at(-1) : undefined;

/** A deployment's model as `uri` and, for a registry model, its version. */
function ModelCells(props: { readonly deployment: Pick<Deployment, 'model_uri' | 'model_version'> }) {
  return (
    <>
      <td>
        <Field name="model_uri" text={props.deployment.model_uri} />
      </td>
      <td>
        <Field name="model_version" text={props.deployment.model_version ?? NO_VALUE} />
      </td>
    </>
  );
}

/** The live figures of a deployment's latest point, one cell each. */
function PointCells(props: { readonly point: Point | undefined }) {
  const { point } = props;
  return (
    <>
      <td class="num">
        <Field name="rps" text={formatRps(point?.rps)} />
      </td>
      <td class="num">
        <Field name="error_rate" text={formatRate(point?.error_rate)} />
      </td>
      <td class="num">
        <Field name="p50_ms" text={formatMs(point?.p50_ms)} />
      </td>
      <td class="num">
        <Field name="p99_ms" text={formatMs(point?.p99_ms)} />
      </td>
    </>
  );
}

function LocalTable(props: { readonly snapshot: Snapshot }) {
  const { snapshot } = props;
  if (snapshot.deployments.length === 0) return <p>No deployments on this target yet.</p>;
  return (
    <Table
      caption="Deployments of the local target, with the latest figures"
      hideCaption
      headings={[
        'Name',
        'State',
        'Model',
        'Version',
        'Revision',
        'Replicas (live/wanted)',
        'Restarts',
        'Requests/s',
        'Error rate',
        'p50',
        'p99',
      ]}
    >
      {snapshot.deployments.map((deployment) => (
        <tr key={deployment.name} data-deployment={deployment.name}>
          <th scope="row">
            <a href={routeHref({ view: 'deployment', name: deployment.name })}>{deployment.name}</a>
          </th>
          <td>
            <StateBadge state={deployment.state} />
          </td>
          <ModelCells deployment={deployment} />
          <td class="num">
            <Field name="revision" text={String(deployment.revision)} />
          </td>
          <td class="num">
            <Field name="live_replicas" text={String(deployment.live_replicas)} />/
            <Field name="replicas" text={String(deployment.replicas)} />
          </td>
          <td class="num">
            <Field name="restarts" text={String(deployment.restarts)} />
          </td>
          <PointCells point={latestPoint(snapshot, deployment.name)} />
        </tr>
      ))}
    </Table>
  );
}

function RemoteTable(props: { readonly caption: string; readonly records: RemoteTarget['deployments']; readonly kind: string }) {
  if (props.records.length === 0) return <p>No {props.kind}.</p>;
  const columns = remoteColumns(props.records);
  return (
    <Table caption={props.caption} headings={columns}>
      {props.records.map((record) => (
        <tr key={record.name} data-remote={props.kind} data-name={record.name}>
          {columns.map((column) =>
            column === 'name' ? (
              <th scope="row" key={column}>
                {record.name}
              </th>
            ) : column === 'state' || column === 'status' ? (
              <td key={column}>
                <StateBadge state={remoteCell(record, column)} field={column} />
              </td>
            ) : (
              <td key={column}>
                <Field name={column} text={remoteCell(record, column)} />
              </td>
            ),
          )}
        </tr>
      ))}
    </Table>
  );
}

function RemoteSection(props: { readonly target: RemoteTarget; readonly now: Date }) {
  const { target, now } = props;
  return (
    <section class="target" data-target={target.uri} aria-labelledby={`target-${target.uri}`}>
      <h2 id={`target-${target.uri}`}>
        Target <code>{target.uri}</code>
      </h2>
      <p class="target-status">
        {target.stale ? (
          <span class="tone-warn" data-field="stale">
            <span aria-hidden="true">▲ </span>stale since {formatTime(target.updated_at)} ({formatAge(target.updated_at, now)})
          </span>
        ) : (
          <span>Updated {formatAge(target.updated_at, now)}</span>
        )}
      </p>
      {target.error !== null && (
        <p class="note note-error">
          <span aria-hidden="true">✕ </span>
          <span data-field="error">{target.error}</span>
        </p>
      )}
      <RemoteTable caption={`Deployments on ${target.uri}`} records={target.deployments} kind="deployments" />
      <RemoteTable caption={`Endpoints on ${target.uri}`} records={target.endpoints} kind="endpoints" />
    </section>
  );
}

/** The deployments of every target in the snapshot. */
export function DeploymentsView(props: { readonly snapshot: Snapshot }) {
  const { snapshot } = props;
  const now = new Date(snapshot.at);
  return (
    <>
      <section class="target" data-target="local" aria-labelledby="target-local">
        <h2 id="target-local">
          Target <code>local</code>
        </h2>
        <LocalTable snapshot={snapshot} />
      </section>
      {snapshot.targets.map((target) => (
        <RemoteSection key={target.uri} target={target} now={now} />
      ))}
    </>
  );
}
