import type { BlockDevice } from '../disk/types.js';
import { GuestkitError } from '../protocol/errors.js';
import { BinaryReader } from '../util/binary.js';
import type { ProbeResult } from './probe/context.js';

/**
 * BitLocker (BDE/FVE) volumes, as libbde's "BitLocker Drive Encryption (BDE) format
 * specification" describes them, with the protection types cryptsetup's bitlk.c adds.
 * Only the unencrypted parts are read — the volume header and an FVE metadata block — to
 * say that the volume is encrypted and how its keys are protected. Nothing is decrypted.
 *
 * Volume header (sector 0):
 *   3  "-FVE-FS-" (Vista: jump EB 52 90; 7 and later: EB 58 90); To Go: "MSWIN4.1" there instead
 *   11 bytes per sector, 13 sectors per cluster
 *   Vista: 56 FVE metadata block 1 cluster number (the other blocks are named in its header)
 *   7+: 160 BitLocker GUID, 176/184/192 metadata block offsets; To Go: 424 GUID, 440/448/456
 * FVE metadata block: a 64-byte block header ("-FVE-FS-", version at 10, the three block
 *   offsets at 32/40/48), a 48-byte metadata header (metadata size at 0 — header included —,
 *   volume GUID at 16, encryption method at 36, FILETIME at 40), then entries of
 *   (size u16, entry type u16, value type u16, version u16, data). A VMK entry (type 2,
 *   value 8) holds key GUID 16, FILETIME 8, unknown 2 and the protection type at 26.
 */

export const FVE_SIGNATURE = '-FVE-FS-';
const TOGO_SIGNATURE = 'MSWIN4.1';
const BLOCK_HEADER = 64;
const METADATA_HEADER = 48;
/** Windows reserves 64 KiB per metadata block; nothing larger is read. */
const MAX_METADATA = 65536;
const ENTRY_HEADER = 8;
const ENTRY_VMK = 0x0002;
const VALUE_VMK = 0x0008;
const VMK_HEADER = 28;
/** More key protectors than Windows allows on a volume; bounds a hostile entry list. */
const MAX_PROTECTORS = 64;

/** Key protection types of VMK entries (libbde "Key protection types"; 0x0500 and 0x1000 from cryptsetup). */
const PROTECTION: Record<number, string> = {
  0x0000: 'clear_key',
  0x0100: 'tpm',
  0x0200: 'startup_key',
  0x0500: 'tpm_pin',
  0x0800: 'recovery_password',
  0x1000: 'smart_card',
  0x2000: 'password',
};

const METHODS: Record<number, string> = {
  0x8000: 'aes-cbc-128-diffuser',
  0x8001: 'aes-cbc-256-diffuser',
  0x8002: 'aes-cbc-128',
  0x8003: 'aes-cbc-256',
  0x8004: 'aes-xts-128',
  0x8005: 'aes-xts-256',
};

export interface BitlockerHeader {
  /** 1: Windows Vista; 2: Windows 7 and later; To Go volumes are version 2 with `togo`. */
  version: 1 | 2;
  togo: boolean;
  /** Byte offsets of the FVE metadata blocks the volume header names (Vista: the first only). */
  metadataOffsets: number[];
}

export interface BitlockerMetadata {
  /** The FVE volume identifier (as bdeinfo and cryptsetup print it). */
  volumeId: string;
  /** aes-xts-128, aes-cbc-256-diffuser, … or 0xNNNN when unknown. */
  encryptionMethod: string;
  /** One per VMK entry: tpm, tpm_pin, startup_key, recovery_password, password, clear_key, smart_card, or 0xNNNN. */
  keyProtectors: string[];
  /** The description entry ("HOST C: date"), when there is one. */
  description?: string;
}

/** The BitLocker volume header in `sector0`, or null when it is none. */
export function parseBitlockerHeader(sector0: Buffer): BitlockerHeader | null {
  if (sector0.length < 512) return null;
  const r = new BinaryReader(sector0, 'BitLocker volume header');
  const sig = r.cstring(3, 8);
  const jump = r.bytes(0, 3).toString('hex');
  if (sig === FVE_SIGNATURE) {
    if (jump === 'eb5290') {
      // Vista: the first block's cluster number; its header names all three
      const cluster = r.u16le(11) * r.u8(13);
      const first = r.u64leBig(56) * BigInt(cluster);
      return { version: 1, togo: false, metadataOffsets: first > 0n && first <= BigInt(Number.MAX_SAFE_INTEGER) ? [Number(first)] : [] };
    }
    return { version: 2, togo: false, metadataOffsets: offsets(r, 176) };
  }
  // To Go: a FAT32-looking header whose GUID at 424 is BitLocker's
  if (sig === TOGO_SIGNATURE && r.guid(424).startsWith('4967D63B-2E29-4AD8-8399-F6A339E3D0')) {
    return { version: 2, togo: true, metadataOffsets: offsets(r, 440) };
  }
  return null;
}

function offsets(r: BinaryReader, at: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    const o = r.u64leBig(at + i * 8);
    if (o > 0n && o <= BigInt(Number.MAX_SAFE_INTEGER)) out.push(Number(o));
  }
  return out;
}

/**
 * One FVE metadata block (block header, metadata header, entries). Throws CORRUPT_IMAGE
 * when the block is not one; entries that run past the metadata end the list.
 */
export function parseFveMetadata(block: Buffer): BitlockerMetadata {
  const r = new BinaryReader(block, 'BitLocker FVE metadata block');
  if (r.cstring(0, 8) !== FVE_SIGNATURE) throw new GuestkitError('CORRUPT_IMAGE', 'BitLocker FVE metadata block: no "-FVE-FS-" signature');
  const version = r.u16le(10);
  if (version !== 1 && version !== 2) throw new GuestkitError('CORRUPT_IMAGE', `BitLocker FVE metadata block: unknown version ${version}`);
  const m = BLOCK_HEADER;
  const size = r.u32le(m);
  if (size < METADATA_HEADER || r.u32le(m + 8) !== METADATA_HEADER) {
    throw new GuestkitError('CORRUPT_IMAGE', `BitLocker FVE metadata: size ${size} / header size ${r.u32le(m + 8)} are impossible`);
  }
  const method = r.u16le(m + 36);
  const out: BitlockerMetadata = {
    volumeId: r.guid(m + 16).toLowerCase(),
    encryptionMethod: METHODS[method] ?? `0x${method.toString(16).padStart(4, '0')}`,
    keyProtectors: [],
  };
  const end = Math.min(block.length, m + size);
  for (let at = m + METADATA_HEADER; at + ENTRY_HEADER <= end; ) {
    const len = r.u16le(at);
    if (len < ENTRY_HEADER || at + len > end) break;
    const type = r.u16le(at + 2);
    const value = r.u16le(at + 4);
    if (type === ENTRY_VMK && value === VALUE_VMK && len >= ENTRY_HEADER + VMK_HEADER && out.keyProtectors.length < MAX_PROTECTORS) {
      const p = r.u16le(at + ENTRY_HEADER + 26);
      out.keyProtectors.push(PROTECTION[p] ?? `0x${p.toString(16).padStart(4, '0')}`);
    } else if (type === 0x0007 && value === 0x0002) {
      const text = r.utf16le(at + ENTRY_HEADER, (len - ENTRY_HEADER) & ~1);
      const nul = text.indexOf('\u0000');
      out.description = nul < 0 ? text : text.slice(0, nul);
    }
    at += len;
  }
  return out;
}

/**
 * Reads the metadata of a BitLocker volume whose header is `header`: the first of its
 * three FVE metadata blocks that parses (they are copies). Null when none can be read.
 */
export async function readBitlockerMetadata(dev: BlockDevice, header: BitlockerHeader): Promise<BitlockerMetadata | null> {
  for (const off of header.metadataOffsets) {
    if (off + BLOCK_HEADER + METADATA_HEADER > dev.size) continue;
    try {
      const head = await dev.read(off, BLOCK_HEADER + METADATA_HEADER);
      const size = head.readUInt32LE(BLOCK_HEADER);
      const len = Math.min(MAX_METADATA, BLOCK_HEADER + Math.max(size, METADATA_HEADER), dev.size - off);
      return parseFveMetadata(await dev.read(off, len));
    } catch (err) {
      if (!(err instanceof GuestkitError)) throw err;
    }
  }
  return null;
}

/**
 * The per-volume error inspection reports for a BitLocker volume: ENCRYPTED, with what the
 * metadata says (protectors, method) in its details. The other volumes are inspected as usual.
 */
export function bitlockerVolumeError(device: string, info: NonNullable<ProbeResult['bitlocker']>, version?: string): GuestkitError {
  const protectors = info.key_protectors;
  const how = protectors?.length ? `key protectors: ${protectors.join(', ')}` : 'its FVE metadata could not be read';
  return new GuestkitError('ENCRYPTED', `${device}: BitLocker-encrypted volume (${how}); it cannot be read without its key`, {
    phase: 'disk_inspection',
    details: { encryption: 'BitLocker', ...(version ? { version } : {}), ...info },
  });
}
