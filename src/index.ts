/**
 * guestkit as a library: disk → volume → filesystem → inspection, pure (reads
 * images, returns data, prints nothing), plus the job protocol.
 *
 *   import { inspect } from 'guestkit';
 *   const result = await inspect('/vms/web-01.qcow2');
 */
export { inspect, requireOs, GuestSession, type InspectRequest } from './inspect/index.js';
export type * from './inspect/types.js';
export { DEFAULT_INSPECT_OPTIONS } from './inspect/types.js';
export * as disk from './disk/index.js';
export * as volume from './volume/index.js';
export * as fs from './fs/index.js';
export * as protocol from './protocol/index.js';
export { GuestkitError, isGuestkitError, type ErrorCode, type ProtocolError } from './protocol/errors.js';
