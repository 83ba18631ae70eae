/**
 * `@mldeploy/dashboard`: the dashboard's browser front end, built into static files that the local
 * target's control plane serves at `/dashboard/`, and the wire protocol between the two.
 */
import { fileURLToPath } from 'node:url';

export * from './protocol.js';

/**
 * The absolute path of the built page: `index.html`, `app.js`, `app.css` (and `app.js.map`).
 * They are built by this package's `build` script (the repository's `npm run build`), next to this module.
 */
export function dashboardAssetsDir(): string {
  return fileURLToPath(new URL('./ui', import.meta.url));
}
