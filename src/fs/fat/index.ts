export { FatFs, openFat } from './filesystem.js';
