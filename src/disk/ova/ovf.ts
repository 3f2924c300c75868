import { corrupt } from '../../protocol/errors.js';

export interface OvfFile {
  id: string;
  href: string;
  size?: number;
  compression?: string;
  chunkSize?: number;
}

export interface OvfDisk {
  diskId: string;
  fileRef?: string;
  /** Capacity in bytes, when the OVF states it as a number. */
  capacity?: number;
  format?: string;
}

export interface Ovf {
  files: OvfFile[];
  /** In DiskSection order: the order the appliance attaches them. */
  disks: OvfDisk[];
}

/**
 * Attributes of one start tag, prefixes dropped (`ovf:href` -> `href`). Scanned by hand: the
 * tag is untrusted and up to MAX_OVF_BYTES long, and a global regex with a leading `[\w.-]*`
 * backtracks quadratically over a long word without `=`.
 */
function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  const isName = (c: string, first: boolean) => /[A-Za-z_]/.test(c) || (!first && /[\w.:-]/.test(c));
  let i = 0;
  while (i < tag.length) {
    if (!isName(tag[i]!, true)) {
      i++;
      continue;
    }
    const start = i;
    while (i < tag.length && isName(tag[i]!, false)) i++;
    const name = tag.slice(start, i);
    let j = i;
    while (j < tag.length && /\s/.test(tag[j]!)) j++;
    if (tag[j] !== '=') continue;
    j++;
    while (j < tag.length && /\s/.test(tag[j]!)) j++;
    const q = tag[j];
    if (q !== '"' && q !== "'") {
      i = j;
      continue;
    }
    const end = tag.indexOf(q, j + 1);
    if (end < 0) break;
    // the regex this replaces took one optional prefix: a:b:c is not an attribute name
    const parts = name.split(':');
    if (parts.length <= 2 && parts.every((x) => x.length > 0)) {
      const key = parts.length === 2 ? parts[1]! : name;
      out[key] = unescapeXml(tag.slice(j + 1, end));
    }
    i = end + 1;
  }
  return out;
}

/** Text with its comments (`<!-- … -->`) removed; an unclosed comment runs to the end. Linear. */
function stripComments(xml: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const open = xml.indexOf('<!--', at);
    if (open < 0) return out + xml.slice(at);
    out += xml.slice(at, open);
    const close = xml.indexOf('-->', open + 4);
    if (close < 0) return out;
    at = close + 3;
  }
}

/**
 * The attribute text of every start tag `<NAME …>` or `<prefix:NAME …/>` (what
 * /<(?:\w+:)?NAME(\s[^>]*)?\/?>/g matched, without its quadratic rescans of a tag that never
 * closes): undefined for a tag without attributes.
 */
function* startTags(xml: string, name: string): Generator<string | undefined> {
  let at = 0;
  for (;;) {
    const lt = xml.indexOf('<', at);
    if (lt < 0) return;
    at = lt + 1;
    let p = lt + 1;
    // optional prefix: word characters then ':'
    let q = p;
    while (q < xml.length && /\w/.test(xml[q]!)) q++;
    if (q > p && xml[q] === ':') p = q + 1;
    if (!xml.startsWith(name, p)) continue;
    p += name.length;
    const c = xml[p];
    if (c === '>' || (c === '/' && xml[p + 1] === '>')) {
      yield undefined;
      at = p + 1;
      continue;
    }
    if (c === undefined || !/\s/.test(c)) continue;
    const gt = xml.indexOf('>', p);
    if (gt < 0) return; // no later tag can close either
    yield xml.slice(p, gt);
    at = gt + 1;
  }
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => (Number(d) <= 0x10ffff ? String.fromCodePoint(Number(d)) : '\ufffd'))
    .replace(/&amp;/g, '&');
}

/** "byte * 2^20" -> 1048576 (the OVF spec's programmatic units). */
function unitBytes(units: string | undefined): number | undefined {
  if (!units) return 1;
  const m = /^\s*byte\s*(?:\*\s*(\d+)\s*\^\s*(\d+))?\s*$/i.exec(units);
  if (!m) return undefined;
  return m[1] ? Number(m[1]) ** Number(m[2]) : 1;
}

/**
 * The parts of an OVF envelope needed to find the disks: References/File and
 * DiskSection/Disk. A small tag scanner, not a validating XML parser.
 */
export function parseOvf(xml: string, where: string): Ovf {
  if (!/<(?:\w+:)?Envelope[\s>]/.test(xml)) throw corrupt(`${where}: not an OVF envelope`);
  const noComments = stripComments(xml);
  const files: OvfFile[] = [];
  for (const tag of startTags(noComments, 'File')) {
    const a = attrs(tag ?? '');
    if (!a['id'] || !a['href']) continue;
    const f: OvfFile = { id: a['id'], href: a['href'] };
    if (a['size'] && /^\d+$/.test(a['size'])) f.size = Number(a['size']);
    if (a['compression']) f.compression = a['compression'];
    if (a['chunkSize'] && /^\d+$/.test(a['chunkSize'])) f.chunkSize = Number(a['chunkSize']);
    files.push(f);
  }
  const disks: OvfDisk[] = [];
  for (const tag of startTags(noComments, 'Disk')) {
    const a = attrs(tag ?? '');
    if (!a['diskId']) continue;
    const d: OvfDisk = { diskId: a['diskId'] };
    if (a['fileRef']) d.fileRef = a['fileRef'];
    if (a['format']) d.format = a['format'];
    const unit = unitBytes(a['capacityAllocationUnits']);
    if (a['capacity'] && /^\d+$/.test(a['capacity']) && unit !== undefined) {
      const c = Number(a['capacity']) * unit;
      if (Number.isSafeInteger(c)) d.capacity = c;
    }
    disks.push(d);
  }
  return { files, disks };
}
