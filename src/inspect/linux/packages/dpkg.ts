import type { GuestView } from '../../guest-view.js';
import type { Application } from '../../types.js';
import { compareText } from '../../../util/compare.js';

/** dpkg's Version: [epoch:]upstream[-revision]. */
export function splitDebVersion(v: string): { epoch: number; version: string; release: string } {
  let epoch = 0;
  const colon = v.indexOf(':');
  if (colon > 0 && /^\d+$/.test(v.slice(0, colon))) {
    epoch = Number(v.slice(0, colon));
    v = v.slice(colon + 1);
  }
  const dash = v.lastIndexOf('-');
  return dash > 0 ? { epoch, version: v.slice(0, dash), release: v.slice(dash + 1) } : { epoch, version: v, release: '' };
}

const DPKG_FIELDS = new Set(['Package', 'Status', 'Version', 'Architecture', 'Source', 'Description', 'Homepage']);

/**
 * The first lines of the named fields of each deb822 stanza (continuation lines skipped).
 * dpkg's status is mostly Conffiles and Description bodies that no fact needs, so only the
 * lines kept are cut out of the text. `chunks` end at line ends (but the last).
 */
export function deb822Fields(chunks: Iterable<string>, keep: ReadonlySet<string>): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  let cur = new Map<string, string>();
  let seen = false;
  for (const text of chunks) {
    for (let pos = 0; pos < text.length; ) {
      let end = text.indexOf('\n', pos);
      if (end < 0) end = text.length;
      const c = text.charCodeAt(pos);
      if (end === pos || (isSpace(c) && blank(text, pos, end))) {
        if (seen) out.push(cur);
        cur = new Map();
        seen = false;
      } else if (c !== 32 && c !== 9) {
        // the colon of this line only: indexOf(':', pos) ran on to the next colon of the chunk,
        // 64 KiB for every line of a chunk without one (3 s per 4 MiB of "x" lines)
        let colon = pos;
        while (colon < end && text.charCodeAt(colon) !== 58) colon++;
        if (colon > pos && colon < end) {
          seen = true;
          const key = text.slice(pos, colon);
          if (keep.has(key)) cur.set(key, text.slice(colon + 1, end).trim());
        }
      }
      pos = end + 1;
    }
  }
  if (seen) out.push(cur);
  return out;
}

/**
 * A buffer as latin1 strings of about `size` bytes cut after a newline. Strings past V8's
 * 128 KiB large-object limit cost a fresh mapping each (~1.5 ms for a 140 KiB dpkg status).
 */
export function* latin1Lines(buf: Buffer, size = 64 * 1024): Generator<string> {
  for (let start = 0; start < buf.length; ) {
    let end = Math.min(buf.length, start + size);
    if (end < buf.length) {
      const nl = buf.lastIndexOf(0x0a, end - 1);
      end = nl >= start ? nl + 1 : (buf.indexOf(0x0a, end) + 1 || buf.length);
    }
    yield buf.toString('latin1', start, end);
    start = end;
  }
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0;
}

function blank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isSpace(text.charCodeAt(i))) return false;
  return true;
}

/** Text read as latin1 (bytes as they are) back to UTF-8, when it holds any non-ASCII byte. */
function utf8(s: string): string {
  return /[\x80-\xff]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

/** `Source: name [(version)]`; without it the source is the package itself, and without a version it is the binary's. */
export function debSource(field: string | undefined, name: string, version: string): { name: string; version: string } {
  if (!field) return { name, version };
  const m = /^(\S+)(?:\s+\((\S+)\))?/.exec(utf8(field));
  return m ? { name: m[1]!, version: m[2] ?? version } : { name, version };
}

/** Installed packages from /var/lib/dpkg/status: only those whose Status says "installed". */
export async function dpkgApplications(g: GuestView): Promise<Application[] | undefined> {
  const buf = await g.bytes('/var/lib/dpkg/status', 64 * 1024 * 1024);
  if (buf === undefined) return undefined;
  // Decoded as latin1: one byte a character, quick to decode and to scan; kept values are UTF-8 again.
  const apps: Application[] = [];
  for (const s of deb822Fields(latin1Lines(buf), DPKG_FIELDS)) {
    const status = s.get('Status')?.split(/\s+/);
    if (!status || status[2] !== 'installed') continue;
    const name = s.get('Package');
    const version = s.get('Version');
    if (!name || !version) continue;
    const v = splitDebVersion(utf8(version));
    const app: Application = { name: utf8(name), epoch: v.epoch, version: v.version, release: v.release, arch: utf8(s.get('Architecture') ?? '') };
    const src = debSource(s.get('Source'), app.name, utf8(version));
    app.source_package = src.name;
    app.source = src;
    const desc = s.get('Description');
    if (desc) app.summary = utf8(desc);
    const home = s.get('Homepage');
    if (home) app.url = utf8(home);
    apps.push(app);
  }
  return apps.sort((a, b) => compareText(a.name, b.name) || compareText(a.arch, b.arch));
}
