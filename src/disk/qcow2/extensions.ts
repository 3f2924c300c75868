import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

export const EXT_END = 0;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_NAMES = 0x6803f857;
export const EXT_BITMAPS = 0x23852875;
export const EXT_CRYPTO = 0x0537be77;
export const EXT_DATA_FILE = 0x44415441;

export interface FeatureName {
  type: 'incompatible' | 'compatible' | 'autoclear';
  bit: number;
  name: string;
}

export interface Qcow2Extensions {
  backingFormat?: string;
  dataFile?: string;
  /** Incompatible-feature names by bit, from the feature name table. */
  incompatNames: Map<number, string>;
  features: FeatureName[];
  hasBitmaps: boolean;
  hasCryptoHeader: boolean;
  /** Extension types this reader does not know (kept for `info`). */
  unknown: number[];
  /** False when the walk ran off the end of the buffer it was given (read more and parse again). */
  complete: boolean;
}

/** Upper bound on extensions so a looping header cannot spin (each one takes at least 8 bytes). */
const MAX_EXTENSIONS = 512;

/**
 * Walks the header extensions that follow the fixed header in cluster 0.
 * `start` is header_length (v3) or 72 (v2); `end` is where they must stop
 * (the backing file name, or the end of the first cluster).
 */
export function parseExtensions(cluster0: Buffer, start: number, end: number, file: string): Qcow2Extensions {
  const r = new BinaryReader(cluster0.subarray(0, Math.min(end, cluster0.length)), `qcow2 header extensions of ${file}`);
  const out: Qcow2Extensions = {
    incompatNames: new Map(),
    features: [],
    hasBitmaps: false,
    hasCryptoHeader: false,
    unknown: [],
    complete: true,
  };
  // Past the buffer but still inside the extension area: the caller read too little.
  const short = (need: number) => need > r.length && r.length < end;
  let off = start;
  for (let n = 0; n < MAX_EXTENSIONS; n++) {
    // Images whose extensions reach the end of the area simply have no end marker.
    if (off + 8 > r.length) {
      out.complete = !short(off + 8);
      return out;
    }
    const type = r.u32be(off);
    const len = r.u32be(off + 4);
    if (type === EXT_END) return out;
    const dataOff = off + 8;
    if (dataOff + len > r.length) {
      if (short(dataOff + len)) {
        out.complete = false;
        return out;
      }
      throw corrupt(`${file}: qcow2 header extension 0x${type.toString(16)} (${len} bytes at ${off}) overruns the header area`, {
        path: file,
        offset: off,
      });
    }
    const data = r.bytes(dataOff, len);
    switch (type) {
      case EXT_BACKING_FORMAT:
        out.backingFormat = data.toString('latin1').replace(/\0.*$/s, '');
        break;
      case EXT_DATA_FILE:
        out.dataFile = data.toString('utf8').replace(/\0.*$/s, '');
        break;
      case EXT_FEATURE_NAMES: {
        const fr = new BinaryReader(data, `qcow2 feature name table of ${file}`);
        for (let i = 0; i + 48 <= len; i += 48) {
          const t = fr.u8(i);
          const bit = fr.u8(i + 1);
          const name = fr.cstring(i + 2, 46);
          const type = t === 0 ? 'incompatible' : t === 1 ? 'compatible' : 'autoclear';
          out.features.push({ type, bit, name });
          if (t === 0) out.incompatNames.set(bit, name);
        }
        break;
      }
      case EXT_BITMAPS:
        out.hasBitmaps = true;
        break;
      case EXT_CRYPTO:
        out.hasCryptoHeader = true;
        break;
      default:
        out.unknown.push(type);
    }
    off = dataOff + Math.ceil(len / 8) * 8;
  }
  throw corrupt(`${file}: more than ${MAX_EXTENSIONS} qcow2 header extensions`, { path: file });
}
