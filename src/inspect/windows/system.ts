import type { Hive } from '../../registry/index.js';

/** The control set Windows boots with: Select\Current names ControlSet00N (CurrentControlSet is only a runtime link). */
export async function currentControlSet(system: Hive): Promise<string> {
  const cur = (await (await system.key('Select'))?.value('Current'))?.dword();
  if (cur !== undefined && cur > 0 && cur < 1000) {
    const name = `ControlSet${String(cur).padStart(3, '0')}`;
    if (await system.key(name)) return name;
  }
  return 'ControlSet001';
}

/** ComputerName as libguestfs reads it, else the TCP/IP host name. */
export async function readHostname(system: Hive, cs: string): Promise<string | undefined> {
  const cn = (await (await system.key(`${cs}\\Control\\ComputerName\\ComputerName`))?.value('ComputerName'))?.string()?.trim();
  if (cn) return cn;
  const tcp = await system.key(`${cs}\\Services\\Tcpip\\Parameters`);
  return ((await tcp?.value('Hostname'))?.string() ?? (await tcp?.value('NV Hostname'))?.string())?.trim() || undefined;
}

/** TimeZoneKeyName: the Windows time zone id ("W. Europe Standard Time"). */
export async function readTimezone(system: Hive, cs: string): Promise<string | undefined> {
  const tz = await system.key(`${cs}\\Control\\TimeZoneInformation`);
  if (!tz) return undefined;
  const name = (await tz.value('TimeZoneKeyName'))?.string()?.trim();
  // Windows before Vista has only StandardName.
  return name || (await tz.value('StandardName'))?.string()?.trim() || undefined;
}
