import { GuestkitError, corrupt } from '../../protocol/errors.js';
import type { ByteSource } from '../ova/source.js';
import { MiB, logIsActive, type VhdxHeader } from './headers.js';

const LOG_ENTRY_ALIGN = 4096;
const SCAN_CHUNK = MiB;

/**
 * A header with a non-zero log GUID may have log entries that were never applied to
 * the file; reading without replaying them would return stale metadata and data.
 * Scans the log for entries of this log GUID and refuses the image when there are any.
 */
export async function refuseUnreplayedLog(src: ByteSource, h: VhdxHeader): Promise<void> {
  if (!logIsActive(h)) return;
  const where = `${src.path}: VHDX log at ${h.logOffset}`;
  if (h.logLength === 0 || h.logLength % MiB !== 0 || h.logOffset % MiB !== 0 || h.logOffset + h.logLength > src.size) {
    throw corrupt(`${where}: log region (${h.logLength} bytes) is misaligned or lies outside the file`);
  }
  const guid = Buffer.from(h.logGuid.replace(/-/g, ''), 'hex');
  // the header prints GUIDs in mixed-endian text; turn it back into the on-disk byte order
  const disk = Buffer.concat([
    Buffer.from(guid.subarray(0, 4)).reverse(),
    Buffer.from(guid.subarray(4, 6)).reverse(),
    Buffer.from(guid.subarray(6, 8)).reverse(),
    guid.subarray(8, 16),
  ]);
  for (let at = 0; at < h.logLength; at += SCAN_CHUNK) {
    const chunk = await src.read(h.logOffset + at, Math.min(SCAN_CHUNK, h.logLength - at));
    for (let o = 0; o + 48 <= chunk.length; o += LOG_ENTRY_ALIGN) {
      if (chunk.toString('latin1', o, o + 4) === 'loge' && chunk.subarray(o + 32, o + 48).equals(disk)) {
        throw new GuestkitError(
          'UNSUPPORTED_FORMAT',
          `${src.path}: VHDX log has entries that were not replayed (the image was not closed cleanly); ` +
            'open it once with Hyper-V or `qemu-img check -r all` to replay the log, then retry',
          { details: { path: src.path, log_guid: h.logGuid, log_offset: h.logOffset } },
        );
      }
    }
  }
}
