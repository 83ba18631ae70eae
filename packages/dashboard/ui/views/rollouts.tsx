/** Rollouts: the list, and one rollout with its gates, decisions and the actions that change it. */
import { useState } from 'preact/hooks';
import { ROLLOUT_ACTIONS, rolloutSchema, type Rollout, type RolloutAction, type Snapshot } from '../../src/protocol.js';
import { postJson, rolloutActionRoute } from '../api.js';
import { ErrorNote, Facts, Field, StateBadge, Table } from '../components/bits.js';
import { ConfirmDialog, type ConfirmRequest } from '../components/confirm-dialog.js';
import { TrafficBar } from '../components/traffic-bar.js';
import { formatPercent, formatTime, NO_VALUE } from '../format.js';
import { gateRows } from '../gates.js';
import { routeHref } from '../route.js';
import { useFetched } from '../use-fetched.js';
import { actionAllowed, stepText } from '../rollout-text.js';

/** Every rollout in the snapshot, newest first. */
export function RolloutsView(props: { readonly snapshot: Snapshot }) {
  const { rollouts } = props.snapshot;
  if (rollouts.length === 0) return <p>No rollouts yet.</p>;
  return (
    <Table
      caption="Rollouts, newest first"
      hideCaption
      headings={['Rollout', 'Endpoint', 'From → to', 'Strategy', 'State', 'Candidate weight', 'Started']}
    >
      {rollouts.map((r) => (
        <tr key={r.id} data-rollout={r.id}>
          <th scope="row">
            <a href={routeHref({ view: 'rollout', id: r.id })}>{r.id}</a>
          </th>
          <td>
            <a href={routeHref({ view: 'endpoints', name: r.endpoint })}>{r.endpoint}</a>
          </td>
          <td>
            <Field name="from" text={r.from} /> <span aria-label="to">→</span> <Field name="to" text={r.to} />
          </td>
          <td>
            <Field name="strategy" text={r.policy.strategy} />
          </td>
          <td>
            <StateBadge state={r.state} />
          </td>
          <td class="num">
            <Field name="weight" text={formatPercent(r.weight)} />
          </td>
          <td>
            <time dateTime={r.started_at}>{formatTime(r.started_at)}</time>
          </td>
        </tr>
      ))}
    </Table>
  );
}

function Gates(props: { readonly rollout: Rollout }) {
  const rows = gateRows(props.rollout);
  return (
    <section aria-labelledby="gates-heading">
      <h2 id="gates-heading">Gates</h2>
      <Table
        caption="Each gate, its threshold, the live value and the verdict"
        hideCaption
        class="gates"
        headings={['Gate', 'Threshold', 'Live value', 'Verdict']}
      >
        {rows.map((row) => (
          <tr key={row.gate} data-gate={row.gate}>
            <th scope="row">
              {row.label} <code>{row.gate}</code>
            </th>
            <td>
              <Field name="threshold" text={row.thresholdText} />
            </td>
            <td class="num">
              <Field name="value" text={row.valueText} />
            </td>
            <td class={row.verdict === 'passing' ? 'tone-good' : row.verdict === 'failing' ? 'tone-bad' : 'tone-neutral'}>
              <span aria-hidden="true">{row.verdict === 'passing' ? '✓ ' : row.verdict === 'failing' ? '✕ ' : '… '}</span>
              <Field name="verdict" text={row.verdict} />
            </td>
          </tr>
        ))}
      </Table>
    </section>
  );
}

function Decisions(props: { readonly rollout: Rollout }) {
  const decisions = [...props.rollout.decisions].reverse();
  return (
    <section aria-labelledby="decisions-heading">
      <h2 id="decisions-heading">Decisions</h2>
      {decisions.length === 0 ? (
        <p>No decision yet.</p>
      ) : (
        <Table caption="The engine's decisions, newest first" hideCaption class="decisions" headings={['At', 'Step', 'Action', 'Reason']}>
          {decisions.map((d, i) => (
            <tr key={`${d.at}-${i}`}>
              <td>
                <time dateTime={d.at}>{formatTime(d.at)}</time>
              </td>
              <td>{stepText(d.step, props.rollout)}</td>
              <td>
                <Field name="action" text={d.action} />
              </td>
              <td>{d.reason}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

const ACTION_TEXT: Readonly<Record<RolloutAction, { label: string; says: (r: Rollout) => string; done: string }>> = {
  pause: {
    label: 'Pause',
    says: (r) => `Traffic stays where it is (${r.to} at ${formatPercent(r.weight)}) and the gates are no longer judged until you resume.`,
    done: 'paused',
  },
  resume: {
    label: 'Resume',
    says: (r) =>
      `The rollout goes on from where it was (${r.to} at ${formatPercent(r.weight)}); the current phase bakes again from the start.`,
    done: 'resumed',
  },
  abort: {
    label: 'Abort',
    says: (r) => `All traffic of ${r.endpoint} goes back to ${r.from} now, and the rollout ends as aborted.`,
    done: 'aborted',
  },
  promote: {
    label: 'Promote',
    says: (r) => `The remaining steps are skipped: all traffic of ${r.endpoint} moves to ${r.to} now.`,
    done: 'promoted',
  },
};

function Actions(props: { readonly rollout: Rollout; readonly onChanged: () => void }) {
  const { rollout } = props;
  const [request, setRequest] = useState<ConfirmRequest | null>(null);
  const ask = (action: RolloutAction) => {
    const text = ACTION_TEXT[action];
    setRequest({
      title: `${text.label} rollout ${rollout.id}`,
      body: <p>{text.says(rollout)}</p>,
      run: async () => {
        const after = await postJson(rolloutActionRoute(rollout.id, action), {}, rolloutSchema);
        props.onChanged();
        return `Rollout ${rollout.id} ${text.done}: now ${after.state.replace('_', ' ')}, ${after.to} at ${formatPercent(after.weight)}.`;
      },
    });
  };
  return (
    <div class="actions" role="group" aria-label="Change this rollout">
      {ROLLOUT_ACTIONS.map((action) => (
        <button key={action} type="button" disabled={!actionAllowed(rollout.state, action)} onClick={() => ask(action)}>
          {ACTION_TEXT[action].label}
        </button>
      ))}
      <ConfirmDialog request={request} onDone={() => setRequest(null)} />
    </div>
  );
}

/** One rollout: from the snapshot while it is there, else asked for. */
export function RolloutDetail(props: { readonly id: string; readonly snapshot: Snapshot }) {
  const { id, snapshot } = props;
  const live = snapshot.rollouts.find((r) => r.id === id);
  const fetched = useFetched(live === undefined ? `rollouts/${encodeURIComponent(id)}` : null, rolloutSchema);
  const rollout = live ?? fetched.data;
  if (rollout === null) return <ErrorNote error={fetched.error} />;
  const candidateShare = Math.min(100, Math.max(0, rollout.weight));
  return (
    <div data-rollout={rollout.id}>
      <Actions rollout={rollout} onChanged={fetched.reload} />
      <Facts
        items={[
          ['State', <StateBadge state={rollout.state} />],
          [
            'Endpoint',
            <a href={routeHref({ view: 'endpoints', name: rollout.endpoint })} data-field="endpoint">
              {rollout.endpoint}
            </a>,
          ],
          [
            'From → to',
            <>
              <Field name="from" text={rollout.from} /> → <Field name="to" text={rollout.to} />
            </>,
          ],
          ['Strategy', <Field name="strategy" text={rollout.policy.strategy} />],
          ['Step', <Field name="step" text={stepText(rollout.step, rollout)} />],
          ['Candidate weight', <Field name="candidate_weight" text={formatPercent(rollout.weight)} />],
          ['Last check', <Field name="last_check" text={rollout.last_check ?? NO_VALUE} />],
          ['Started', formatTime(rollout.started_at)],
          ['Updated', formatTime(rollout.updated_at)],
        ]}
      />
      <TrafficBar
        traffic={
          rollout.from === rollout.to ? { [rollout.to]: 100 } : { [rollout.from]: 100 - candidateShare, [rollout.to]: candidateShare }
        }
        label={`Traffic of ${rollout.endpoint} in this rollout`}
      />
      <Gates rollout={rollout} />
      <Decisions rollout={rollout} />
    </div>
  );
}
