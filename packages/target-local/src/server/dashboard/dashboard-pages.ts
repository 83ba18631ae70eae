/**
 * Headers of every dashboard answer: the page loads nothing but its own files, cannot be framed
 * (clickjacking its buttons), and never sends its address, sign-in code included, as a Referer.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

const TEXT = {
  'signed-in': {
    title: 'Signed in',
    body: '<p>Signed in to the mldeploy dashboard. <a href="/dashboard/">Open the dashboard</a>.</p>',
    head: '<meta http-equiv="refresh" content="0;url=/dashboard/">',
  },
  'signed-out': {
    title: 'Sign in with mldeploy dashboard',
    body: '<p>This dashboard opens only through the link that <code>mldeploy dashboard</code> prints (run it as the user who runs this control plane). The link works once, for two minutes.</p>',
    head: '',
  },
  'link-spent': {
    title: 'This link was used or has expired',
    body: '<p>A dashboard link works once, for two minutes. Run <code>mldeploy dashboard</code> again for a new one.</p>',
    head: '',
  },
} as const;

/** The small pages of the sign-in: signed in (moving on to the dashboard), not signed in, a spent link. */
export function signInPage(kind: keyof typeof TEXT): string {
  const { title, body, head } = TEXT[kind];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} · mldeploy</title>${head}</head><body><main><h1>${title}</h1>${body}</main></body></html>`;
}
