export { runProfile, criticalFailures, type ProfileRequest } from './run.js';
export { catalogue, buildCatalogue } from './catalogue.js';
export { toHtml, toText } from './render.js';
export * from './types.js';
