#!/usr/bin/env node
// Bundles the commands listed in src/cli/launch.ts (BUNDLED) into dist/cli/NAME.cjs: one CommonJS
// file holding everything the command imports, so that bin/guestkit.js can compile it through a
// V8 code cache. import.meta.url in a bundled module still names that module's compiled file under
// dist/src (package.json, thread entries and assets are found relative to it).
//   node scripts/build-cli.mjs [--outdir DIR] [--sizes] [--readable]   (--readable: not minified, for CPU profiles)
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { zodEnglishOnly } from './esbuild-zod-english.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readable = process.argv.includes('--readable');
const sizes = process.argv.includes('--sizes');
const at = process.argv.indexOf('--outdir');
const out = at > 0 ? resolve(process.argv[at + 1]) : join(root, 'dist', 'cli');

/** bundle name → the command module and its register function */
const BUNDLES = {
  inspect: { module: 'src/cli/commands/inspect.ts', register: 'registerInspectCommands' },
  profile: { module: 'src/cli/commands/profile.ts', register: 'registerProfileCommands' },
  sbom: { module: 'src/cli/commands/sbom.ts', register: 'registerSbomCommands' },
  files: { module: 'src/cli/commands/files.ts', register: 'registerFileCommands' },
  vulns: { module: 'src/cli/commands/vulns.ts', register: 'registerVulnsCommands' },
};

const metaUrl = {
  name: 'import-meta-url',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => {
      let contents = await readFile(args.path, 'utf8');
      if (contents.includes('import.meta.url')) {
        const compiled = relative(out, join(root, 'dist', relative(root, args.path))).replace(/\.ts$/, '.js');
        contents = contents.replaceAll('import.meta.url', `__gkModuleUrl(${JSON.stringify(compiled)})`);
      }
      return { contents, loader: 'ts' };
    });
  },
};

// Native addons cannot be bundled; the OpenTelemetry SDK is loaded only when tracing is on.
const EXTERNAL = ['better-sqlite3', '@opentelemetry/*'];
const BANNER = [
  "const __gkModuleUrl = (p) => require('node:url').pathToFileURL(require('node:path').join(__dirname, p)).href;",
  // import() of an external package, as require(): V8 drops a script's dynamic-import host options
  // when it comes from the code cache ("A dynamic import callback was not specified").
  'const __gkImport = (id) => Promise.resolve().then(() => { const m = require(id); return m && m.__esModule ? m : Object.assign({ default: m }, m); });',
].join('\n');

const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) {';
const WRAP_TAIL = '\n})';

await rm(out, { recursive: true, force: true });
for (const [name, { module, register }] of Object.entries(BUNDLES)) {
  const r = await build({
    write: false,
    stdin: {
      contents: `import { runCli } from './src/cli/program.ts';\nimport { ${register} } from './${module}';\nexport const main = (argv) => runCli(argv, (program) => ${register}(program));\n`,
      resolveDir: root,
      sourcefile: `bundle-${name}.ts`,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: join(out, `${name}.cjs`),
    external: EXTERNAL,
    banner: { js: BANNER },
    plugins: [metaUrl, zodEnglishOnly(root)],
    legalComments: 'none',
    charset: 'ascii', // the launcher reads the file as latin1, with no UTF-8 decoding
    // Smaller source to read and hash; names are kept, so stacks (GUESTKIT_DEBUG) still read.
    minifyWhitespace: !readable,
    minifySyntax: !readable,
    logLevel: 'warning',
  });
  for (const f of r.outputFiles) {
    const body = f.text.replace(/\bimport\("([^"]+)"\)/g, (all, id) => (EXTERNAL.some((e) => (e.endsWith('*') ? id.startsWith(e.slice(0, -1)) : id === e)) ? `__gkImport(${JSON.stringify(id)})` : all));
    // Written already wrapped as a CommonJS function: the launcher compiles the file as it is read,
    // with no second 0.7 MB copy of the source (Module.wrap) at the moment of peak memory.
    const text = `${WRAP_HEAD}${body}${WRAP_TAIL}`;
    await mkdir(dirname(f.path), { recursive: true });
    await writeFile(f.path, text);
    if (sizes) console.log(`${relative(root, f.path)}: ${Buffer.byteLength(text)} bytes`);
  }
}
