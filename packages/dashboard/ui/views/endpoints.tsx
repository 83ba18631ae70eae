/** Endpoints: each one's traffic split, how its requests were routed just now (pinned, sticky, weighted), sticky header, shadow with its comparison, URL and running rollout. */
import type { Endpoint, Rollout, Snapshot } from '../../src/protocol.js';
import { Facts, Field, StateBadge } from '../components/bits.js';
import { TrafficBar } from '../components/traffic-bar.js';
import { formatMs, formatNumber, formatPercent, formatRate, formatRps } from '../format.js';
import { routeHref } from '../route.js';

/** The rollout still moving `endpoint`'s traffic (running or paused), if any. */
const activeRollout = (snapshot: Snapshot, endpoint: string): Rollout | undefined =>
  snapshot.rollouts.find((r) => r.endpoint === endpoint && (r.state === 'running' || r.state === 'paused'));

function Shadow(props: { readonly endpoint: Endpoint }) {
  const { shadow } = props.endpoint;
  if (shadow === null) return <Field name="shadow" text="none" />;
  return (
    <>
      <Field name="shadow" text={shadow.deployment} /> gets a copy of <Field name="shadow_percent" text={formatPercent(shadow.percent)} />{' '}
      of requests
    </>
  );
}

const RULE_TEXT: Readonly<Record<string, string>> = {
  pinned: 'pinned by x-mldeploy-deployment',
  sticky: 'by the sticky header',
  weighted: 'by the split',
};

/** How the endpoint's requests were routed over the last interval: per deployment and rule. */
function Routing(props: { readonly endpoint: string; readonly snapshot: Snapshot }) {
  const routed = (props.snapshot.routing?.[props.endpoint] ?? []).filter((r) => r.rps > 0);
  if (routed.length === 0) return <Field name="routing" text="no requests in the last interval" />;
  return (
    <ul class="routing" data-field="routing">
      {routed.map((r) => (
        <li key={`${r.deployment} ${r.rule}`} data-deployment={r.deployment} data-rule={r.rule}>
          <span data-field="routed_rps">{formatRps(r.rps)}</span> req/s to {r.deployment}, {RULE_TEXT[r.rule] ?? r.rule}
        </li>
      ))}
    </ul>
  );
}

/** How the shadow's answers compare with the endpoint's: below the endpoint's facts, as wide as they are. */
function ShadowComparison(props: { readonly endpoint: Endpoint }) {
  const { name, shadow, shadow_comparison: comparison } = props.endpoint;
  if (shadow === null || comparison === undefined) return null;
  return (
    <section class="shadow-comparison" aria-labelledby={`shadow-${name}`}>
      <h3 id={`shadow-${name}`}>Shadow {shadow.deployment} compared with the answers callers got</h3>
      <Facts
        items={[
          ['Mirrored requests', <Field name="mirrored" text={String(comparison.mirrored)} />],
          ['Shadow errors', <Field name="shadow_errors" text={String(comparison.errors)} />],
          ['Agreement', <Field name="agreement_rate" text={formatRate(comparison.agreement_rate)} />],
          ['Mean latency difference', <Field name="mean_latency_difference_ms" text={formatMs(comparison.mean_latency_difference_ms)} />],
          ['Mean absolute difference', <Field name="mean_abs_difference" text={formatNumber(comparison.mean_abs_difference, 4)} />],
          ['Max absolute difference', <Field name="max_abs_difference" text={formatNumber(comparison.max_abs_difference, 4)} />],
        ]}
      />
    </section>
  );
}

function EndpointSection(props: { readonly endpoint: Endpoint; readonly snapshot: Snapshot }) {
  const { endpoint, snapshot } = props;
  const rollout = activeRollout(snapshot, endpoint.name);
  const headingId = `endpoint-${endpoint.name}`;
  return (
    <section class="endpoint" data-endpoint={endpoint.name} aria-labelledby={headingId}>
      <h2 id={headingId}>
        <a href={routeHref({ view: 'endpoints', name: endpoint.name })}>{endpoint.name}</a>
      </h2>
      <TrafficBar traffic={endpoint.traffic} label={`Traffic of ${endpoint.name}`} />
      <Facts
        items={[
          ['URL', <Field name="url" text={endpoint.url} />],
          ['Sticky header', <Field name="sticky_header" text={endpoint.sticky_header ?? 'none'} />],
          ['Routed now', <Routing endpoint={endpoint.name} snapshot={snapshot} />],
          ['Shadow', <Shadow endpoint={endpoint} />],
          [
            'Rollout',
            rollout === undefined ? (
              <Field name="rollout" text="none" />
            ) : (
              <>
                <a href={routeHref({ view: 'rollout', id: rollout.id })} data-field="rollout">
                  {rollout.id}
                </a>{' '}
                to {rollout.to} (<StateBadge state={rollout.state} field="rollout_state" />, candidate at {formatPercent(rollout.weight)})
              </>
            ),
          ],
        ]}
      />
      <ShadowComparison endpoint={endpoint} />
    </section>
  );
}

/** Every endpoint, or only `name` (which may be gone). */
export function EndpointsView(props: { readonly snapshot: Snapshot; readonly name?: string | undefined }) {
  const { snapshot, name } = props;
  const endpoints = name === undefined ? snapshot.endpoints : snapshot.endpoints.filter((e) => e.name === name);
  if (endpoints.length === 0) {
    return <p>{name === undefined ? 'No endpoints on this target yet.' : `There is no endpoint named ${name}.`}</p>;
  }
  return (
    <>
      {name !== undefined && (
        <p>
          <a href={routeHref({ view: 'endpoints' })}>All endpoints</a>
        </p>
      )}
      {endpoints.map((endpoint) => (
        <EndpointSection key={endpoint.name} endpoint={endpoint} snapshot={snapshot} />
      ))}
    </>
  );
}
