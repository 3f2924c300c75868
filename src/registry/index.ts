export { openHive, Hive, RegKey, RegValue, filetimeToDate } from './hive.js';
export { BufferSource, ChunkedSource, type HiveSource } from './source.js';
export { parseBaseBlock, baseBlockChecksum, type BaseBlock } from './base-block.js';
export * from './data.js';
