import type { Hive } from '../../registry/index.js';
import type { UserInfo } from '../types.js';

const USERS = 'SAM\\Domains\\Account\\Users';
const ACB_DISABLED = 0x0001;
const MAX_USERS = 100000;

/**
 * Local accounts from the SAM hive: names and RIDs from Users\Names (the RID is the type
 * of each name's default value), the disabled flag from the F value of Users\<RID>, the
 * full name from V. No password hashes are read. Home directories come from SOFTWARE's
 * ProfileList (SIDs ending in the RID).
 */
export async function readUsers(sam: Hive, software: Hive | undefined): Promise<UserInfo[]> {
  const names = await sam.key(`${USERS}\\Names`);
  if (!names) return [];
  const homes = software ? await profileHomes(software) : new Map<number, string>();
  const out: UserInfo[] = [];
  for (const k of (await names.subkeys()).slice(0, MAX_USERS)) {
    const rid = (await k.value(''))?.type;
    if (rid === undefined) continue;
    const acct = await sam.key(`${USERS}\\${rid.toString(16).toUpperCase().padStart(8, '0')}`);
    const f = (await acct?.value('F'))?.data;
    const v = (await acct?.value('V'))?.data;
    const disabled = f !== undefined && f.length >= 0x3a ? (f.readUInt16LE(0x38) & ACB_DISABLED) !== 0 : false;
    const group = f !== undefined && f.length >= 0x38 ? f.readUInt32LE(0x34) : 0;
    out.push({
      name: k.name,
      uid: rid,
      gid: group || 513,
      gecos: (v && vString(v, 2)) ?? '',
      home: homes.get(rid) ?? '',
      shell: '',
      login_allowed: !disabled,
      password: 'unknown',
      system: rid < 1000,
      groups: [],
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

/** RID → ProfileImagePath for local accounts (SIDs S-1-5-21-…-RID). */
async function profileHomes(software: Hive): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const pl = await software.key('Microsoft\\Windows NT\\CurrentVersion\\ProfileList');
  for (const k of ((await pl?.subkeys()) ?? []).slice(0, MAX_USERS)) {
    const m = /^S-1-5-21-\d+-\d+-\d+-(\d+)$/.exec(k.name);
    const path = m ? (await k.value('ProfileImagePath'))?.string() : undefined;
    if (m && path) out.set(Number(m[1]), path);
  }
  return out;
}
