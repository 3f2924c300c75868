import type { Hive, RegValue } from '../../registry/index.js';
import { describe, satisfies } from '../expect.js';
import type { Evaluator, Evidence, Verdict } from '../types.js';

type Of<T extends Evaluator['type']> = Extract<Evaluator, { type: T }>;

/** One Windows root: its hives (opened once) and the control set it boots with. */
export interface WindowsGuest {
  systemRoot: string;
  controlSet: string;
  hive(name: 'SOFTWARE' | 'SYSTEM' | 'SAM'): Promise<Hive | undefined>;
}

const ACB_DISABLED = 0x0001;
const DOMAIN_PASSWORD_COMPLEX = 0x0001;

function keyPath(w: WindowsGuest, key: string): string {
  return key.replace(/^CurrentControlSet\\/i, `${w.controlSet}\\`);
}

function show(v: RegValue): string {
  const n = v.number();
  if (n !== undefined) return String(n);
  const s = v.strings();
  if (s) return s.join(' ');
  return `${v.typeName} (${v.data.length} bytes)`;
}

function where(w: WindowsGuest, hive: string, key: string, value?: string): string {
  return `${w.systemRoot}/System32/config/${hive}:${key}${value !== undefined ? `\\${value}` : ''}`;
}

async function registry(w: WindowsGuest, e: Of<'registry'>): Promise<Verdict> {
  const h = await w.hive(e.hive);
  if (!h) return { status: 'error', message: `the ${e.hive} hive could not be read`, evidence: [{ file: `${w.systemRoot}/System32/config/${e.hive}`, value: 'unreadable' }] };
  const expected = describe(e.expect);
  for (const s of e.sources) {
    const k = await h.key(keyPath(w, s.key));
    const v = await k?.value(s.value);
    if (!v) continue;
    const val = show(v);
    const ok = satisfies(val, e.expect);
    const ev = [{ file: where(w, e.hive, keyPath(w, s.key), s.value), value: `${val} (${v.typeName})`, expected }];
    return ok.ok ? { status: 'pass', message: `${s.value} = ${val}`, evidence: ev } : { status: 'fail', message: `${s.value} ${ok.why}`, evidence: ev };
  }
  const first = e.sources[0]!;
  const ev: Evidence[] = [{ file: where(w, e.hive, keyPath(w, first.key), first.value), value: e.default !== undefined ? `not set (Windows default ${e.default})` : 'not set', expected }];
  if (e.sources.length > 1) ev[0]!.note = `also looked at ${e.sources.slice(1).map((s) => `${s.key}\\${s.value}`).join(', ')}`;
  if (e.default === undefined) return { status: 'fail', message: `${first.value} is not configured`, evidence: ev };
  const ok = satisfies(String(e.default), e.expect);
  return ok.ok ? { status: 'pass', message: `not set; the default ${e.default} applies`, evidence: ev } : { status: 'fail', message: `not set; the default is ${e.default}`, evidence: ev };
}

async function registryKey(w: WindowsGuest, e: Of<'registry_key'>): Promise<Verdict> {
  const h = await w.hive(e.hive);
  if (!h) return { status: 'error', message: `the ${e.hive} hive could not be read`, evidence: [] };
  const found: Evidence[] = [];
  for (const key of e.keys) {
    const k = await h.key(keyPath(w, key));
    if (!k) continue;
    if (e.value !== undefined) {
      const v = await k.value(e.value);
      if (!v || (v.strings()?.filter(Boolean).length ?? 1) === 0) continue;
      found.push({ file: where(w, e.hive, keyPath(w, key), e.value), value: show(v).slice(0, 200) });
    } else found.push({ file: where(w, e.hive, keyPath(w, key)), value: 'present' });
  }
  const expected = e.expect === 'absent' ? 'absent' : 'present';
  if (e.expect === 'absent') {
    return found.length
      ? { status: 'fail', message: `${found.length} key(s) present`, evidence: found.map((f) => ({ ...f, expected })) }
      : { status: 'pass', message: 'none present', evidence: [{ file: where(w, e.hive, keyPath(w, e.keys[0]!)), value: 'absent', expected, ...(e.keys.length > 1 ? { note: `and ${e.keys.length - 1} more` } : {}) }] };
  }
  return found.length
    ? { status: 'pass', message: `${found.length} present`, evidence: found.map((f) => ({ ...f, expected })) }
    : { status: 'fail', message: 'none present', evidence: [{ file: where(w, e.hive, keyPath(w, e.keys[0]!)), value: 'absent', expected: `one of ${e.keys.join(', ')}` }] };
}

/**
 * SAM\Domains\Account\F, the local domain's fixed-length record (as impacket's DOMAIN_ACCOUNT_F
 * lays it out): ages are negative 100 ns intervals at 0x18 (max) and 0x20 (min); the password
 * properties at 0x4C, minimum length at 0x50, history length at 0x52, lockout threshold at 0x54.
 */
export function samDomainPolicy(f: Buffer): Record<string, number> | undefined {
  if (f.length < 0x58) return undefined;
  const days = (off: number) => {
    const v = f.readBigInt64LE(off);
    if (v === -0x8000000000000000n || v === 0n) return 0; // never
    return Math.round(Number(-v / 10_000_000n) / 86400);
  };
  return {
    max_password_age_days: days(0x18),
    min_password_age_days: days(0x20),
    complexity: f.readUInt32LE(0x4c) & DOMAIN_PASSWORD_COMPLEX ? 1 : 0,
    min_password_length: f.readUInt16LE(0x50),
    password_history: f.readUInt16LE(0x52),
    lockout_threshold: f.readUInt16LE(0x54),
  };
}

async function samPolicy(w: WindowsGuest, e: Of<'sam_policy'>): Promise<Verdict> {
  const sam = await w.hive('SAM');
  const file = where(w, 'SAM', 'SAM\\Domains\\Account', 'F');
  if (!sam) return { status: 'error', message: 'the SAM hive could not be read', evidence: [{ file, value: 'unreadable' }] };
  const f = (await (await sam.key('SAM\\Domains\\Account'))?.value('F'))?.data;
  const pol = f ? samDomainPolicy(f) : undefined;
  if (!pol) return { status: 'error', message: 'SAM\\Domains\\Account\\F is missing or too short', evidence: [{ file, value: f ? `${f.length} bytes` : 'missing' }] };
  const v = pol[e.field]!;
  const ok = satisfies(String(v), e.expect);
  const ev = [{ file, value: `${e.field} = ${v}`, expected: `${e.field} ${describe(e.expect)}` }];
  return ok.ok ? { status: 'pass', message: `${e.field} = ${v}`, evidence: ev } : { status: 'fail', message: `${e.field} ${ok.why}`, evidence: ev };
}

async function samAccountDisabled(w: WindowsGuest, e: Of<'sam_account_disabled'>): Promise<Verdict> {
  const sam = await w.hive('SAM');
  if (!sam) return { status: 'error', message: 'the SAM hive could not be read', evidence: [] };
  const key = `SAM\\Domains\\Account\\Users\\${e.rid.toString(16).toUpperCase().padStart(8, '0')}`;
  const f = (await (await sam.key(key))?.value('F'))?.data;
  const file = where(w, 'SAM', key, 'F');
  if (!f) return { status: 'not_applicable', message: `no account with RID ${e.rid}`, evidence: [{ file, value: 'missing' }] };
  if (f.length < 0x3a) return { status: 'error', message: 'account record too short', evidence: [{ file, value: `${f.length} bytes` }] };
  const flags = f.readUInt16LE(0x38);
  const ev = [{ file, value: `flags 0x${flags.toString(16).padStart(4, '0')}${flags & ACB_DISABLED ? ' (disabled)' : ''}`, expected: 'disabled (0x0001)' }];
  return flags & ACB_DISABLED ? { status: 'pass', message: `RID ${e.rid} is disabled`, evidence: ev } : { status: 'fail', message: `RID ${e.rid} is enabled`, evidence: ev };
}

export async function evaluateWindows(w: WindowsGuest, e: Evaluator): Promise<Verdict> {
  switch (e.type) {
    case 'registry':
      return registry(w, e);
    case 'registry_key':
      return registryKey(w, e);
    case 'sam_policy':
      return samPolicy(w, e);
    case 'sam_account_disabled':
      return samAccountDisabled(w, e);
    default:
      return { status: 'not_applicable', message: `${e.type} does not apply to Windows guests`, evidence: [] };
  }
}
