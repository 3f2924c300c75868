import { corrupt } from '../../protocol/errors.js';
import { guestFaultMessage } from '../faults.js';
import { filetimeToDate, type Hive } from '../../registry/index.js';
import { BinaryReader } from '../../util/binary.js';
import type { GroupInfo, UserInfo } from '../types.js';
import { parseSid } from './domain.js';
import { PROFILE_LIST } from './profiles.js';

const USERS = 'SAM\\Domains\\Account\\Users';
const ALIASES = 'SAM\\Domains\\Builtin\\Aliases';
/** ACB (account control) bits of the F value, as MS-SAMR's USER_ACCOUNT flags. */
const ACB_DISABLED = 0x0001;
const ACB_AUTOLOCKED = 0x0400;
const MAX_USERS = 100000;
const MAX_ALIASES = 1000;
const MAX_MEMBERS = 100000;
/** FILETIME 0 and 0x7FFFFFFFFFFFFFFF both mean "never". */
const NEVER = 0x7fffffffffffffffn;

/**
 * The F value of SAM\Domains\Account\Users\<RID> (fixed layout, as RegRipper's samparse.pl and
 * impacket read it): 0x08 last logon, 0x18 password last set (FILETIMEs), 0x30 RID, 0x34 primary
 * group RID, 0x38 ACB flags (u16), 0x40 failed logon count, 0x42 logon count (u16). Nothing of
 * the password hashes is here (they are in V, entries 13 and 14, which are never read).
 */
export interface UserF {
  rid: number;
  primary_group: number;
  acb: number;
  last_logon?: string;
  password_last_set?: string;
  logon_count: number;
}

export function parseUserF(f: Buffer): UserF {
  const r = new BinaryReader(f, 'SAM user F value');
  const time = (off: number) => {
    const ft = r.u64leBig(off);
    return ft === 0n || ft >= NEVER ? undefined : filetimeToDate(ft).toISOString();
  };
  const last_logon = time(0x08);
  const password_last_set = time(0x18);
  return {
    rid: r.u32le(0x30),
    primary_group: r.u32le(0x34),
    acb: r.u16le(0x38),
    ...(last_logon ? { last_logon } : {}),
    ...(password_last_set ? { password_last_set } : {}),
    logon_count: r.u16le(0x42),
  };
}

/**
 * Local accounts from the SAM hive: names and RIDs from Users\Names (the RID is the type
 * of each name's default value); flags, times and counts from the F value of Users\<RID>; full
 * name and comment from V. No password hash is read. Home directories come from SOFTWARE's
 * ProfileList (SIDs ending in the RID). `accountSid` (the machine's account domain SID, from
 * the SECURITY hive) gives each user its SID; `aliases` fill each user's groups.
 */
export async function readUsers(sam: Hive, software: Hive | undefined, accountSid?: string, aliases: GroupInfo[] = []): Promise<UserInfo[]> {
  const names = await sam.key(`${USERS}\\Names`);
  if (!names) return [];
  const homes = software ? await profileHomes(software) : new Map<number, string>();
  const out: UserInfo[] = [];
  for (const k of (await names.subkeys()).slice(0, MAX_USERS)) {
    const rid = (await k.value(''))?.type;
    if (rid === undefined) continue;
    const acct = await sam.key(`${USERS}\\${rid.toString(16).toUpperCase().padStart(8, '0')}`);
    const fData = (await acct?.value('F'))?.data;
    const v = (await acct?.value('V'))?.data;
    // a short or missing F leaves the flags unknown: the account counts as enabled, as before
    const f = fData && fData.length >= 0x44 ? parseUserF(fData) : undefined;
    const disabled = f ? (f.acb & ACB_DISABLED) !== 0 : false;
    const sid = accountSid ? `${accountSid}-${rid}` : undefined;
    const comment = v && vString(v, 3);
    out.push({
      name: k.name,
      uid: rid,
      gid: f?.primary_group || 513,
      gecos: (v && vString(v, 2)) ?? '',
      home: homes.get(rid) ?? '',
      shell: '',
      login_allowed: !disabled,
      password: 'unknown',
      system: rid < 1000,
      groups: aliases.filter((a) => a.member_sids?.includes(sid ?? '\0')).map((a) => a.name),
      ...(sid ? { sid } : {}),
      ...(comment ? { comment } : {}),
      ...(f ? { disabled, locked: (f.acb & ACB_AUTOLOCKED) !== 0, logon_count: f.logon_count } : {}),
      ...(f?.last_logon ? { last_logon: f.last_logon } : {}),
      ...(f?.password_last_set ? { password_last_set: f.password_last_set } : {}),
    });
  }
  return out.sort((a, b) => a.uid - b.uid);
}

/** Field i of a SAM V value: a table of (offset, length, unknown) triples, data after 0xCC. */
function vString(v: Buffer, i: number): string | undefined {
  if (v.length < 0xcc) return undefined;
  const off = v.readUInt32LE(i * 12) + 0xcc;
  const len = v.readUInt32LE(i * 12 + 4);
  if (len === 0 || len > 1024 || off + len > v.length) return undefined;
  return v.toString('utf16le', off, off + (len & ~1));
}

/**
 * An alias's C value (SAM\Domains\{Builtin,Account}\Aliases\<RID>\C), as samparse.pl reads it:
 * thirteen u32 fields (0x34 bytes) — 0x00 RID, 0x10/0x14 name offset/length, 0x1C/0x20 comment
 * offset/length, 0x28/0x2C members offset/length, 0x30 member count — offsets counted from
 * 0x34; the members are binary SIDs, one after the other.
 */
export function parseAliasC(c: Buffer): { rid: number; name: string; comment: string; members: string[] } {
  const r = new BinaryReader(c, 'SAM alias C value');
  const text = (offField: number) => {
    const len = r.u32le(offField + 4);
    return len ? r.bytes(0x34 + r.u32le(offField), len & ~1).toString('utf16le') : '';
  };
  const count = r.u32le(0x30);
  if (count > MAX_MEMBERS) throw corrupt(`SAM alias C value: ${count} members`);
  const start = 0x34 + r.u32le(0x28);
  const end = start + r.u32le(0x2c);
  if (end > c.length) r.bytes(start, end - start); // throws CORRUPT_IMAGE
  const members: string[] = [];
  let off = start;
  for (let i = 0; i < count; i++) {
    // each SID: revision, count n, 6-byte authority, n sub-authorities
    const n = r.u8(off + 1);
    const sid = parseSid(r.bytes(off, 8 + 4 * n));
    if (!sid) throw corrupt(`SAM alias C value: member ${i} at 0x${off.toString(16)} is not a SID`);
    members.push(sid);
    off += 8 + 4 * n;
  }
  return { rid: r.u32le(0), name: text(0x10), comment: text(0x1c), members };
}

/** Well-known SIDs that appear in local groups. */
const WELL_KNOWN: Record<string, string> = {
  'S-1-1-0': 'Everyone',
  'S-1-5-4': 'NT AUTHORITY\\INTERACTIVE',
  'S-1-5-6': 'NT AUTHORITY\\SERVICE',
  'S-1-5-11': 'NT AUTHORITY\\Authenticated Users',
  'S-1-5-18': 'NT AUTHORITY\\SYSTEM',
  'S-1-5-19': 'NT AUTHORITY\\LOCAL SERVICE',
  'S-1-5-20': 'NT AUTHORITY\\NETWORK SERVICE',
};

/**
 * The built-in local groups (Administrators, Users, Remote Desktop Users, …) with their members:
 * SAM\Domains\Builtin\Aliases\<RID> C values. A member is named by the local account it is
 * (its SID is the account domain's SID plus a RID in Users\Names), by a well-known name, or by
 * its SID (domain accounts: the SAM does not know their names). `gid` is the alias RID.
 */
export async function readAliases(sam: Hive, accountSid: string | undefined, warn: (m: string) => void): Promise<GroupInfo[]> {
  const aliases = await sam.key(ALIASES);
  if (!aliases) return [];
  const local = new Map<number, string>();
  for (const k of ((await (await sam.key(`${USERS}\\Names`))?.subkeys()) ?? []).slice(0, MAX_USERS)) {
    const rid = (await k.value(''))?.type;
    if (rid !== undefined) local.set(rid, k.name);
  }
  const name = (sid: string) => {
    if (accountSid && sid.startsWith(`${accountSid}-`)) {
      const n = local.get(Number(sid.slice(accountSid.length + 1)));
      if (n) return n;
    }
    return WELL_KNOWN[sid] ?? sid;
  };
  const out: GroupInfo[] = [];
  for (const k of (await aliases.subkeys()).slice(0, MAX_ALIASES)) {
    if (!/^[0-9A-Fa-f]{8}$/.test(k.name)) continue; // Names and Members are indexes, not aliases
    const c = (await k.value('C'))?.data;
    if (!c) continue;
    try {
      const a = parseAliasC(c);
      out.push({ name: a.name, gid: a.rid, members: a.members.map(name), sid: `S-1-5-32-${a.rid}`, member_sids: a.members, ...(a.comment ? { comment: a.comment } : {}) });
    } catch (err) {
      warn(`${ALIASES}\\${k.name}: ${guestFaultMessage(err)}`);
    }
  }
  return out.sort((a, b) => a.gid - b.gid);
}

/** RID → ProfileImagePath for local accounts (SIDs S-1-5-21-…-RID). */
async function profileHomes(software: Hive): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const pl = await software.key(PROFILE_LIST);
  for (const k of ((await pl?.subkeys()) ?? []).slice(0, MAX_USERS)) {
    const m = /^S-1-5-21-\d+-\d+-\d+-(\d+)$/.exec(k.name);
    const path = m ? (await k.value('ProfileImagePath'))?.string() : undefined;
    if (m && path) out.set(Number(m[1]), path);
  }
  return out;
}
