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
    body: '<p>Signed in to the mldeploy dashboard. <a href="/dashboard/#key=KEY">Open the dashboard</a>.</p>',
    head: '<meta http-equiv="refresh" content="0;url=/dashboard/#key=KEY">',
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

/**
 * The small pages of the sign-in: signed in (moving on to the dashboard, with the page's key in
 * the address's fragment, which no browser sends on), not signed in, a spent link. `key` is
 * base64url, safe in an attribute as it is.
 */
export function signInPage(kind: keyof typeof TEXT, key = ''): string {
  const { title, body, head } = TEXT[kind];
  const withKey = (html: string): string => html.replaceAll('KEY', key);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} · mldeploy</title>${withKey(head)}</head><body><main><h1>${title}</h1>${withKey(body)}</main></body></html>`;
}
