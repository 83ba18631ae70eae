/** The page's views, addressed by the URL's hash (`#/deployments/iris`), so links and Back work without a router. */

/** A view and what it shows. */
export type Route =
  | { readonly view: 'deployments' }
  | { readonly view: 'deployment'; readonly name: string }
  | { readonly view: 'endpoints'; readonly name?: string }
  | { readonly view: 'rollouts' }
  | { readonly view: 'rollout'; readonly id: string }
  | { readonly view: 'audit' };

/** The top-level views, as the navigation lists them. */
export type Section = 'deployments' | 'endpoints' | 'rollouts' | 'audit';

const decode = (part: string): string | undefined => {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
};

/** The view a hash names; anything else is the deployments list, the home view. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#?\/?/, '').split('/');
  const [head, rawName, ...rest] = parts;
  const name = rawName === undefined || rawName === '' || rest.some((part) => part !== '') ? undefined : decode(rawName);
  switch (head) {
    case 'deployments':
      return name === undefined ? { view: 'deployments' } : { view: 'deployment', name };
    case 'endpoints':
      return name === undefined ? { view: 'endpoints' } : { view: 'endpoints', name };
    case 'rollouts':
      return name === undefined ? { view: 'rollouts' } : { view: 'rollout', id: name };
    case 'audit':
      return { view: 'audit' };
    default:
      return { view: 'deployments' };
  }
}

/** The link to a view; names are encoded, so any name makes a link that comes back as itself. */
export function routeHref(route: Route): string {
  switch (route.view) {
    case 'deployments':
    case 'rollouts':
    case 'audit':
      return `#/${route.view}`;
    case 'deployment':
      return `#/deployments/${encodeURIComponent(route.name)}`;
    case 'endpoints':
      return route.name === undefined ? '#/endpoints' : `#/endpoints/${encodeURIComponent(route.name)}`;
    case 'rollout':
      return `#/rollouts/${encodeURIComponent(route.id)}`;
  }
}

/** The navigation section a view belongs to. */
export function sectionOf(route: Route): Section {
  switch (route.view) {
    case 'deployment':
      return 'deployments';
    case 'rollout':
      return 'rollouts';
    default:
      return route.view;
  }
}
