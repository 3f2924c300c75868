import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { openHive, type Hive } from '../../src/registry/index.js';
import { fixture } from '../helpers/fixtures.js';

/** key path → value name → "TYPE:hex data". */
export type HiveDump = Map<string, Map<string, string>>;

/** Every hive the Windows fixture builder makes, by a short name. */
export function fixtureHives(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of ['server2019', 'win11']) {
    for (const h of ['SOFTWARE', 'SYSTEM', 'SAM', 'DEFAULT', 'SECURITY']) out[`${p}/${h}`] = fixture('windows', p, h);
  }
  for (const m of ['ri', 'lf', 'li']) out[`lists/SYSTEM-${m}`] = fixture('windows', 'lists', `SYSTEM-${m}`);
  for (const v of ['a', 'b']) out[`mixedcase/SOFTWARE-${v}`] = fixture('windows', 'mixedcase', `SOFTWARE-${v}`);
  out['bcd'] = fixture('windows', 'bcd.hiv');
  return out;
}

export async function openFile(path: string): Promise<Hive> {
  return openHive(readFileSync(path), path);
}

export async function dumpHive(h: Hive): Promise<HiveDump> {
  const out: HiveDump = new Map();
  await h.walk(async (k) => {
    const vals = new Map<string, string>();
    for (const v of await k.values()) vals.set(v.name, `${v.type}:${v.data.toString('hex')}`);
    out.set(k.path, vals);
  });
  return out;
}

/**
 * `hivexregedit --export` output parsed back: it prints every value as hex(TYPE) bytes (or
 * dword:), so the comparison is byte for byte. Perl prints names below U+0100 as Latin-1
 * bytes and others as UTF-8, so each line is decoded as UTF-8 when it is valid UTF-8.
 */
export function hivexExport(path: string): HiveDump {
  const raw = execFileSync('hivexregedit', ['--export', path, '\\'], { maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const out: HiveDump = new Map();
  let cur: Map<string, string> | undefined;
  let start = 0;
  while (start < raw.length) {
    let end = raw.indexOf(0x0a, start);
    if (end < 0) end = raw.length;
    const bytes = raw.subarray(start, end);
    start = end + 1;
    let line: string;
    try {
      line = utf8.decode(bytes);
    } catch {
      line = bytes.toString('latin1');
    }
    if (line === '' || line.startsWith('Windows Registry Editor')) continue;
    const key = /^\[\\(.*)\]$/.exec(line);
    if (key) {
      cur = new Map();
      out.set(key[1]!, cur);
      continue;
    }
    const val = /^(@|"((?:[^"\\]|\\.)*)")=(?:hex\(([0-9a-f]+)\):([0-9a-f,]*)|dword:([0-9a-f]{8}))$/.exec(line);
    if (!val || !cur) throw new Error(`hivexregedit export: cannot parse line ${JSON.stringify(line.slice(0, 120))}`);
    const name = val[1] === '@' ? '' : val[2]!.replace(/\\(.)/g, '$1');
    if (val[5] !== undefined) {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(parseInt(val[5], 16));
      cur.set(name, `4:${b.toString('hex')}`);
    } else {
      cur.set(name, `${parseInt(val[3]!, 16)}:${val[4]!.replace(/,/g, '')}`);
    }
  }
  return out;
}

/** reglookup's rows: how many keys and how many values of each type name. */
export function reglookupCounts(path: string): { keys: number; values: number } {
  const text = execFileSync('reglookup', ['-H', path], { maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] }).toString('latin1');
  let keys = 0;
  let values = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const f = line.split(',');
    if (f[1] === 'KEY') keys++;
    else values++;
  }
  return { keys, values };
}
