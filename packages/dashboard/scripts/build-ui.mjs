// Builds the browser page into dist/ui: app.js (+ map) and app.css bundled by esbuild from
// ui/main.tsx, and index.html. The page runs under `default-src 'self'`, so nothing may point
// elsewhere: the check at the end fails the build on any external URL in what it wrote.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/ui`;

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: `${root}ui/main.tsx` },
  outdir: out,
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: `${root}ui/tsconfig.json`,
  legalComments: 'none',
  logLevel: 'warning',
});
await copyFile(`${root}ui/index.html`, `${out}/index.html`);
// The stylesheet's map would point at node_modules paths; the page needs only the script's.
await rm(`${out}/app.css.map`, { force: true });

const files = (await readdir(out)).sort();
const expected = ['app.css', 'app.js', 'app.js.map', 'index.html'];
if (files.join() !== expected.join()) throw new Error(`dist/ui holds ${files.join(', ')}, expected ${expected.join(', ')}`);
for (const file of ['app.css', 'app.js', 'index.html']) {
  const text = await readFile(`${out}/${file}`, 'utf8');
  const external = /\b(?:src|href)\s*=\s*["']?(?:https?:)?\/\/|url\(\s*["']?(?:https?:)?\/\/|@import/i.exec(text);
  if (external !== null)
    throw new Error(`${file} refers to something outside the page: ${text.slice(external.index, external.index + 80)}`);
}
const sizes = await Promise.all(files.map(async (file) => `${file} ${((await stat(`${out}/${file}`)).size / 1024).toFixed(1)} KiB`));
console.log(`dashboard UI built in dist/ui: ${sizes.join(', ')}`);
