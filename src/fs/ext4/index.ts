export { ExtFs, openExt, type ExtCacheOptions } from './filesystem.js';
