import { parseBitlockerHeader, readBitlockerMetadata } from '../bitlocker.js';
import { type ProbeContext, type ProbeResult, result } from './context.js';

/**
 * BitLocker: "-FVE-FS-" at 3 (or a To Go header), as blkid names it (TYPE BitLocker, USAGE
 * crypto, VERSION 1 or 2). The FVE metadata is read only here, on volumes that carry the
 * signature, so the key protectors cost nothing on other volumes.
 */
export async function probeBitlocker(ctx: ProbeContext): Promise<ProbeResult | null> {
  const sector = await ctx.at(0, 512);
  const header = sector ? parseBitlockerHeader(sector) : null;
  if (!header) return null;
  const meta = await readBitlockerMetadata(ctx.dev, header);
  const r = result({ type: 'BitLocker', usage: 'crypto', version: String(header.version) });
  r.bitlocker = {
    ...(header.togo ? { to_go: true } : {}),
    ...(meta
      ? { volume_id: meta.volumeId, encryption_method: meta.encryptionMethod, key_protectors: meta.keyProtectors, ...(meta.description ? { description: meta.description } : {}) }
      : {}),
  };
  return r;
}
