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

/** Attributes of one start tag, prefixes dropped (`ovf:href` -> `href`). */
function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([A-Za-z_][\w.-]*(?::[\w.-]+)?)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    const key = m[1]!.includes(':') ? m[1]!.slice(m[1]!.indexOf(':') + 1) : m[1]!;
    out[key] = unescapeXml(m[2] ?? m[3] ?? '');
  }
  return out;
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
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
  const noComments = xml.replace(/<!--[\s\S]*?-->/g, '');
  const files: OvfFile[] = [];
  for (const m of noComments.matchAll(/<(?:\w+:)?File(\s[^>]*)?\/?>/g)) {
    const a = attrs(m[1] ?? '');
    if (!a['id'] || !a['href']) continue;
    const f: OvfFile = { id: a['id'], href: a['href'] };
    if (a['size'] && /^\d+$/.test(a['size'])) f.size = Number(a['size']);
    if (a['compression']) f.compression = a['compression'];
    if (a['chunkSize'] && /^\d+$/.test(a['chunkSize'])) f.chunkSize = Number(a['chunkSize']);
    files.push(f);
  }
  const disks: OvfDisk[] = [];
  for (const m of noComments.matchAll(/<(?:\w+:)?Disk(\s[^>]*)?\/?>/g)) {
    const a = attrs(m[1] ?? '');
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
