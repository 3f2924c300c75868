#!/usr/bin/env node
// Builds the dashboard (web/) into dist/web: one ES module entry plus lazily loaded chunks and a
// stylesheet, all with content-hashed names under dist/web/assets/, and index.html naming them.
// No CDN: everything the page loads is served by `guestkit serve` (src/api/routes/web.ts).
//   node scripts/build-web.mjs            build (prints the sizes)
//   node scripts/build-web.mjs --check    type-check web/ first (tsc -p web/tsconfig.json)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { zodEnglishOnly } from './esbuild-zod-english.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
const tmp = join(root, 'dist', `web.tmp-${process.pid}`);

if (process.argv.includes('--check')) {
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'web', 'tsconfig.json')], { stdio: 'inherit' });
}


rmSync(tmp, { recursive: true, force: true });
mkdirSync(join(tmp, 'assets'), { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'web/src/main.tsx' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome100', 'firefox100', 'safari15.4'],
  outdir: join(tmp, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'none',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  define: { 'process.env.NODE_ENV': '"production"' },
  plugins: [zodEnglishOnly(root)],
  logLevel: 'warning',
});

const outputs = result.metafile.outputs;
const name = (p) => '/' + relative(tmp, join(root, p)).split('\\').join('/');
let js, css;
for (const [file, meta] of Object.entries(outputs)) {
  if (meta.entryPoint === 'web/src/main.tsx') {
    js = name(file);
    if (meta.cssBundle) css = name(meta.cssBundle);
  }
}
if (!js) throw new Error('build-web: esbuild named no entry output');
const html = readFileSync(join(root, 'web', 'index.html'), 'utf8')
  .replace('<!--CSS-->', css ? `<link rel="stylesheet" href="${css}">` : '')
  .replace('<!--JS-->', `<script type="module" src="${js}"></script>`);
writeFileSync(join(tmp, 'index.html'), html);
if (existsSync(join(root, 'web', 'public'))) {
  for (const f of ['favicon.svg']) {
    const src = join(root, 'web', 'public', f);
    if (existsSync(src)) writeFileSync(join(tmp, f), readFileSync(src));
  }
}

// swap the new build in at once: a running server keeps what it loaded. Two builds at once (tests
// run in parallel) may race for the name: move the old one aside, retry when the other won.
const old = join(root, 'dist', `web.old-${process.pid}`);
for (let i = 0; ; i++) {
  try {
    renameSync(out, old);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  try {
    renameSync(tmp, out);
    break;
  } catch (err) {
    if (i >= 10 || !['ENOTEMPTY', 'EEXIST'].includes(err.code)) throw err;
  }
}
rmSync(old, { recursive: true, force: true });
if (process.argv.includes('--quiet')) process.exit(0);

// what the first page load fetches: the entry, its stylesheet and the chunks it imports statically
const firstLoad = new Set();
const visit = (f) => {
  if (firstLoad.has(f) || !outputs[f]) return;
  firstLoad.add(f);
  if (outputs[f].cssBundle) firstLoad.add(outputs[f].cssBundle);
  for (const i of outputs[f].imports) if (i.kind === 'import-statement') visit(i.path);
};
for (const [f, m] of Object.entries(outputs)) if (m.entryPoint === 'web/src/main.tsx') visit(f);
const rows = Object.entries(outputs)
  .filter(([f]) => !f.endsWith('.map'))
  .map(([f, m]) => {
    const body = readFileSync(join(out, relative(tmp, join(root, f))));
    return { file: relative(out, join(out, relative(tmp, join(root, f)))), bytes: m.bytes, gzip: gzipSync(body, { level: 9 }).length, entry: firstLoad.has(f) };
  })
  .sort((a, b) => b.bytes - a.bytes);
const kb = (n) => (n / 1024).toFixed(1).padStart(6) + ' KiB';
for (const r of rows) console.log(`  ${kb(r.bytes)} ${kb(r.gzip)} gz  ${r.file}${r.entry ? '  (first load)' : ''}`);
const first = rows.filter((r) => r.entry);
console.log(`build-web: ${rows.length} files in dist/web; first load ${kb(first.reduce((s, r) => s + r.bytes, 0)).trim()} (${kb(first.reduce((s, r) => s + r.gzip, 0)).trim()} gzip), all ${kb(rows.reduce((s, r) => s + r.bytes, 0)).trim()} (${kb(rows.reduce((s, r) => s + r.gzip, 0)).trim()} gzip)`);
