import { GuestkitError, corrupt } from '../../protocol/errors.js';

export type ExtentKind = 'SPARSE' | 'FLAT' | 'VMFS' | 'ZERO' | 'VMFSSPARSE' | 'VMFSRDM' | 'VMFSRAW' | 'SESPARSE';

export interface ExtentLine {
  access: 'RW' | 'RDONLY' | 'NOACCESS';
  /** Size in sectors. */
  sectors: number;
  kind: ExtentKind;
  file?: string;
  /** Start inside the file, in sectors (flat extents). */
  offset: number;
}

/** The text descriptor: `key = "value"` pairs and extent lines. */
export interface Descriptor {
  version?: string;
  cid?: number;
  parentCid?: number;
  createType?: string;
  parentFileNameHint?: string;
  extents: ExtentLine[];
  ddb: Record<string, string>;
}

export const NO_PARENT_CID = 0xffffffff;
/** Descriptors are a few hundred bytes; bounds what is read and parsed. */
export const MAX_DESCRIPTOR_BYTES = 1 << 20;
const MAX_EXTENTS = 4096;
const KINDS = new Set(['SPARSE', 'FLAT', 'VMFS', 'ZERO', 'VMFSSPARSE', 'VMFSRDM', 'VMFSRAW', 'SESPARSE']);

export function looksLikeDescriptor(head: Buffer): boolean {
  const t = head.subarray(0, 256).toString('latin1').replace(/^\ufeff|^\xef\xbb\xbf/, '').trimStart();
  return /^#\s*Disk DescriptorFile/i.test(t);
}

export function parseDescriptor(text: string, where: string): Descriptor {
  const d: Descriptor = { extents: [], ddb: {} };
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    // a NUL ends the line's text (padding after the descriptor); indexOf, not /\0.*$/, which
    // backtracks quadratically on a long line of NULs with a lone \r (a hang on a 1 MiB descriptor)
    const raw = lines[n]!;
    const nul = raw.indexOf('\0');
    const line = (nul < 0 ? raw : raw.slice(0, nul)).trim();
    if (!line || line.startsWith('#')) continue;
    const ext = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Za-z]+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?\s*$/.exec(line);
    if (ext) {
      const kind = ext[3]!.toUpperCase();
      if (!KINDS.has(kind)) throw new GuestkitError('UNSUPPORTED_FORMAT', `${where}: line ${n + 1}: unknown VMDK extent type ${ext[3]}`);
      if (d.extents.length >= MAX_EXTENTS) throw corrupt(`${where}: more than ${MAX_EXTENTS} extents`);
      const sectors = Number(ext[2]);
      const offset = ext[5] === undefined ? 0 : Number(ext[5]);
      if (!Number.isSafeInteger(sectors) || !Number.isSafeInteger(offset) || sectors * 512 > Number.MAX_SAFE_INTEGER) {
        throw corrupt(`${where}: line ${n + 1}: extent size or offset out of range`);
      }
      if (kind !== 'ZERO' && ext[4] === undefined) throw corrupt(`${where}: line ${n + 1}: ${kind} extent without a file name`);
      d.extents.push({ access: ext[1] as ExtentLine['access'], sectors, kind: kind as ExtentKind, file: ext[4], offset });
      continue;
    }
    const kv = /^([A-Za-z0-9_.]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue; // tolerate what VMware tools tolerate: unknown lines are ignored
    const key = kv[1]!;
    const value = kv[2]!.replace(/^"(.*)"$/, '$1');
    if (key.startsWith('ddb.')) d.ddb[key.slice(4)] = value;
    else if (key === 'version') d.version = value;
    else if (key === 'CID') d.cid = parseCid(value, where, key);
    else if (key === 'parentCID') d.parentCid = parseCid(value, where, key);
    else if (key === 'createType') d.createType = value;
    else if (key === 'parentFileNameHint') d.parentFileNameHint = value;
  }
  if (d.extents.length === 0) throw corrupt(`${where}: VMDK descriptor lists no extents`);
  return d;
}

function parseCid(v: string, where: string, key: string): number {
  if (!/^[0-9a-fA-F]{1,8}$/.test(v)) throw corrupt(`${where}: ${key} "${v}" is not a 32-bit hex number`);
  return parseInt(v, 16);
}
