import { corrupt } from '../../../protocol/errors.js';
import type { Application } from '../../types.js';

/** Tags of an rpm header this inspector reads. */
const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  SUMMARY: 1004,
  LICENSE: 1014,
  URL: 1020,
  ARCH: 1022,
  SOURCERPM: 1044,
} as const;

const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;
/** Headers in rpm databases are far below this; a larger count is corruption. */
const MAX_INDEX = 100_000;

export type HeaderValue = string | number | string[];

/**
 * Parses a header blob as rpm stores it in its databases (no lead, no magic):
 * il, dl, il index entries {tag, type, offset, count}, then the data store.
 */
export function parseHeaderBlob(blob: Buffer, wanted: ReadonlySet<number> = ALL_WANTED): Map<number, HeaderValue> {
  if (blob.length < 8) throw corrupt(`rpm header: ${blob.length} bytes is too short`);
  const il = blob.readUInt32BE(0);
  const dl = blob.readUInt32BE(4);
  if (il > MAX_INDEX || 8 + il * 16 + dl > blob.length) {
    throw corrupt(`rpm header: index count ${il} / data length ${dl} do not fit in ${blob.length} bytes`);
  }
  const dataStart = 8 + il * 16;
  const data = blob.subarray(dataStart, dataStart + dl);
  const out = new Map<number, HeaderValue>();
  for (let i = 0; i < il; i++) {
    const e = 8 + i * 16;
    const tag = blob.readUInt32BE(e);
    // rpm writes each tag once; a repeated one is read once (the first), or a blob repeating one
    // string tag 100,000 times over MiBs of data would decode those MiBs 100,000 times
    if (!wanted.has(tag) || out.has(tag)) continue;
    const type = blob.readUInt32BE(e + 4);
    const off = blob.readInt32BE(e + 8);
    const count = blob.readUInt32BE(e + 12);
    if (off < 0 || off > dl) throw corrupt(`rpm header: tag ${tag} offset ${off} outside data (${dl} bytes)`);
    if (type === TYPE_INT32) {
      if (count < 1 || off + 4 > dl) throw corrupt(`rpm header: tag ${tag} int32 outside data`);
      out.set(tag, data.readUInt32BE(off));
    } else if (type === TYPE_STRING || type === TYPE_I18NSTRING || type === TYPE_STRING_ARRAY) {
      const strings: string[] = [];
      let p = off;
      const n = type === TYPE_STRING ? 1 : Math.min(count, 1000);
      for (let k = 0; k < n; k++) {
        const end = data.indexOf(0, p);
        if (end < 0) throw corrupt(`rpm header: tag ${tag} string not terminated`);
        strings.push(data.toString('utf8', p, end));
        p = end + 1;
      }
      out.set(tag, type === TYPE_STRING_ARRAY ? strings : strings[0]!);
    }
  }
  return out;
}

const ALL_WANTED: ReadonlySet<number> = new Set(Object.values(TAG));

/** The application record of one installed package header; undefined for rpm's pseudo-packages. */
export function applicationOfHeader(blob: Buffer): Application | undefined {
  const h = parseHeaderBlob(blob);
  const str = (t: number) => {
    const v = h.get(t);
    return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
  };
  const name = str(TAG.NAME);
  if (!name) return undefined;
  // gpg-pubkey entries are imported keys, not software.
  const arch = str(TAG.ARCH) ?? '';
  if (name === 'gpg-pubkey' && arch === '') return undefined;
  const epoch = h.get(TAG.EPOCH);
  const app: Application = {
    name,
    epoch: typeof epoch === 'number' ? epoch : 0,
    version: str(TAG.VERSION) ?? '',
    release: str(TAG.RELEASE) ?? '',
    arch,
  };
  const src = str(TAG.SOURCERPM);
  if (src) {
    app.source_package = src.replace(/-[^-]+-[^-]+\.(no)?src\.rpm$/, '');
    // name-version-release.src.rpm: the source's own version-release (a subpackage may differ from it).
    const m = /^(.+)-([^-]+-[^-]+)\.(?:no)?src\.rpm$/.exec(src);
    if (m) app.source = { name: m[1]!, version: m[2]! };
  }
  const license = str(TAG.LICENSE);
  if (license) app.license = license;
  const summary = str(TAG.SUMMARY);
  if (summary) app.summary = summary;
  const url = str(TAG.URL);
  if (url) app.url = url;
  return app;
}
