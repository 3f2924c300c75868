import type { Hive, RegValue } from '../../registry/index.js';
import type { OperatingSystem } from '../types.js';

type Domain = NonNullable<OperatingSystem['domain']>;

/** SIDs have at most 15 sub-authorities. */
const MAX_SUBAUTHORITIES = 15;

/**
 * Domain or workgroup membership from the LSA policy in the SECURITY hive, the store Windows
 * itself reads (the Tcpip "Domain" value is only the primary DNS suffix, which a workgroup
 * machine may set too, and Winlogon's DefaultDomainName is only the last logon's domain):
 *   Policy\PolPrDmN  (default value) UNICODE_STRING header — Length u16, MaximumLength u16,
 *                    4 bytes — then the UTF-16 NetBIOS name of the domain or workgroup
 *   Policy\PolPrDmS  (default value) the primary domain's SID; empty on a workgroup machine
 *   Policy\PolMachineAccountS  the computer account's SID when joined (a DWORD 0 otherwise)
 * Joined = a primary domain SID (or a machine account SID) is present. `dns_domain` is the
 * primary DNS suffix (SYSTEM\<ControlSet>\Services\Tcpip\Parameters Domain / NV Domain), given
 * only for a joined machine, where Windows sets it to the domain's DNS name.
 */
export async function readDomainMembership(security: Hive, system: Hive | undefined, cs: string): Promise<Domain | undefined> {
  const policy = await security.key('Policy');
  if (!policy) return undefined;
  const dflt = async (k: string) => (await (await policy.subkey(k))?.value('')) ?? undefined;
  const nameValue = await dflt('PolPrDmN');
  const name = nameValue ? unicodeString(nameValue) : undefined;
  let sid = parseSid((await dflt('PolPrDmS'))?.data);
  if (!sid) {
    // the machine account SID is the domain SID plus the computer's RID
    const machine = parseSid((await dflt('PolMachineAccountS'))?.data);
    if (machine) sid = machine.replace(/-\d+$/, '');
  }
  if (name === undefined && !sid) return undefined;
  const out: Domain = { joined: sid !== undefined, name: name ?? '' };
  if (sid) {
    out.sid = sid;
    const tcp = await system?.key(`${cs}\\Services\\Tcpip\\Parameters`);
    const dns = ((await tcp?.value('Domain'))?.string() || (await tcp?.value('NV Domain'))?.string())?.trim();
    if (dns) out.dns_domain = dns;
  }
  return out;
}

/** A self-relative UNICODE_STRING as LSA stores it: Length at 0, the text from offset 8. */
function unicodeString(v: RegValue): string | undefined {
  const d = v.data;
  if (d.length < 8) return undefined;
  const len = Math.min(d.readUInt16LE(0), d.length - 8) & ~1;
  return d.subarray(8, 8 + len).toString('utf16le').replace(/\0+$/, '');
}

/** A binary SID (revision 1, count, 6-byte authority, count × u32 sub-authorities) as S-1-…; undefined when it is none. */
export function parseSid(d: Buffer | undefined): string | undefined {
  if (!d || d.length < 8 || d[0] !== 1) return undefined;
  const n = d[1]!;
  if (n === 0 || n > MAX_SUBAUTHORITIES || d.length < 8 + 4 * n) return undefined;
  const authority = d.readUIntBE(2, 6);
  const subs: number[] = [];
  for (let i = 0; i < n; i++) subs.push(d.readUInt32LE(8 + 4 * i));
  return `S-1-${authority}-${subs.join('-')}`;
}

/** The machine's own (account) domain SID, S-1-5-21-a-b-c, from the LSA policy's PolAcDmS: local accounts' SIDs are it plus their RID. */
export async function readAccountDomainSid(security: Hive): Promise<string | undefined> {
  const k = await security.key('Policy\\PolAcDmS');
  return parseSid((await k?.value(''))?.data);
}
