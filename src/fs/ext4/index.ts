export { ExtFs, openExt, type ExtCacheOptions, type ExtOpenOptions } from './filesystem.js';
