/** The page: navigation, connection status, session, and the view the hash names. */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Session } from '../src/protocol.js';
import { DashboardError, getSession } from './api.js';
import { ErrorNote } from './components/bits.js';
import { PageContext, type Page } from './context.js';
import { useSnapshot, type Connection } from './live.js';
import { parseRoute, routeHref, sectionOf, type Route, type Section } from './route.js';
import { AuditView } from './views/audit.js';
import { DeploymentDetail } from './views/deployment-detail.js';
import { DeploymentsView } from './views/deployments.js';
import { EndpointsView } from './views/endpoints.js';
import { RolloutDetail, RolloutsView } from './views/rollouts.js';

const SECTIONS: ReadonlyArray<readonly [Section, string]> = [
  ['deployments', 'Deployments'],
  ['endpoints', 'Endpoints'],
  ['rollouts', 'Rollouts'],
  ['audit', 'Audit'],
];

const CONNECTION_TEXT: Readonly<Record<Connection, { text: string; symbol: string; tone: string }>> = {
  connecting: { text: 'Connecting…', symbol: '…', tone: 'neutral' },
  live: { text: 'Live', symbol: '●', tone: 'good' },
  reconnecting: { text: 'Reconnecting…', symbol: '↻', tone: 'warn' },
  closed: { text: 'Disconnected: reload the page', symbol: '✕', tone: 'bad' },
};

function title(route: Route): string {
  switch (route.view) {
    case 'deployments':
      return 'Deployments';
    case 'deployment':
      return `Deployment ${route.name}`;
    case 'endpoints':
      return route.name === undefined ? 'Endpoints' : `Endpoint ${route.name}`;
    case 'rollouts':
      return 'Rollouts';
    case 'rollout':
      return `Rollout ${route.id}`;
    case 'audit':
      return 'Audit log';
  }
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function View(props: { readonly route: Route; readonly page: Page }) {
  const { route, page } = props;
  // The audit log is read on demand; every other view shows the live snapshot.
  if (route.view === 'audit') return <AuditView />;
  const { snapshot } = page.live;
  if (snapshot === null) return <p class="waiting">Waiting for the first snapshot from the control plane…</p>;
  switch (route.view) {
    case 'deployments':
      return <DeploymentsView snapshot={snapshot} />;
    case 'deployment':
      return <DeploymentDetail key={route.name} name={route.name} snapshot={snapshot} />;
    case 'endpoints':
      return <EndpointsView snapshot={snapshot} name={route.name} />;
    case 'rollouts':
      return <RolloutsView snapshot={snapshot} />;
    case 'rollout':
      return <RolloutDetail key={route.id} id={route.id} snapshot={snapshot} />;
  }
}

/** The whole page. */
export function App() {
  const route = useRoute();
  const live = useSnapshot();
  const [session, setSession] = useState<Session | null>(null);
  const [sessionError, setSessionError] = useState<DashboardError | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);
  const firstRoute = useRef(true);

  useEffect(() => {
    getSession().then(setSession, (error: unknown) =>
      setSessionError(error instanceof DashboardError ? error : new DashboardError(String(error))),
    );
  }, []);

  const pageTitle = title(route);
  useEffect(() => {
    document.title = `${pageTitle} · mldeploy`;
    // A result belongs to the view it was made in.
    setAnnouncement('');
    // After a link (not on load), the reader is taken to the new view's heading, as a page load would.
    if (firstRoute.current) firstRoute.current = false;
    else heading.current?.focus();
  }, [pageTitle]);

  const announce = useCallback((text: string) => setAnnouncement(text), []);
  const page = useMemo<Page>(() => ({ session, live, announce }), [session, live, announce]);
  const section = sectionOf(route);
  const connection = CONNECTION_TEXT[live.connection];

  return (
    <PageContext.Provider value={page}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <nav aria-label="Main">
          <span class="brand">mldeploy</span>
          <ul>
            {SECTIONS.map(([key, label]) => (
              <li key={key}>
                <a href={routeHref({ view: key })} aria-current={key === section ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <p class="status">
          <span class={`connection tone-${connection.tone}`}>
            <span aria-hidden="true">{connection.symbol} </span>
            <span data-field="connection">{connection.text}</span>
          </span>
          {session !== null && (
            <>
              <span class="who">
                as <span data-field="actor">{session.actor}</span>
              </span>
              <span class="version">
                mldeploy <span data-field="version">{session.version}</span>
              </span>
            </>
          )}
        </p>
      </header>
      <main id="main">
        <h1 ref={heading} tabIndex={-1}>
          {pageTitle}
        </h1>
        <ErrorNote error={sessionError}>The session could not be read, so changes are not possible: </ErrorNote>
        {live.problem !== null && (
          <p class="note note-warn" role="status">
            <span aria-hidden="true">▲ </span>
            {live.problem}
          </p>
        )}
        <div class="announcer" aria-live="polite" role="status" data-field="announcement">
          {announcement}
        </div>
        <View route={route} page={page} />
      </main>
    </PageContext.Provider>
  );
}
