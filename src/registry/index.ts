export { openHive, Hive, RegKey, RegValue, filetimeToDate, type HiveOptions } from './hive.js';
export { BufferSource, ChunkedSource, PatchedSource, type HiveSource } from './source.js';
export { replayLogs, MAX_LOG_BYTES, type LogFile, type ReplayResult } from './transaction-log.js';
export { marvin32, REGISTRY_LOG_SEED } from './marvin32.js';
export { parseBaseBlock, baseBlockChecksum, type BaseBlock } from './base-block.js';
export * from './data.js';
