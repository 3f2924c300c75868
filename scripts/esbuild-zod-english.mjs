import { join } from 'node:path';

/**
 * esbuild plugin: zod's `z` namespace re-exports all of its ~50 locales (260 KiB); guestkit speaks
 * English only, so the locales index is replaced by English alone (the protocol's own messages are
 * English). Used by the dashboard build and the CLI bundles.
 */
export function zodEnglishOnly(root) {
  return {
    name: 'zod-english-only',
    setup(b) {
      b.onResolve({ filter: /locales\/index\.js$/ }, (args) => (args.importer.includes(`${join('node_modules', 'zod')}`) ? { path: 'zod-locales-en', namespace: 'zod-locales' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, () => ({ contents: "export { default as en } from 'zod/v4/locales/en.js';", resolveDir: root, loader: 'js' }));
    },
  };
}
