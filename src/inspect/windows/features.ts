import type { Hive } from '../../registry/index.js';

export const SERVER_COMPONENTS = 'Microsoft\\ServerManager\\ServicingStorage\\ServerComponentCache';
const MAX_FEATURES = 10000;

/**
 * The roles and features installed on a Windows Server: the subkeys of ServerManager's
 * ServicingStorage\ServerComponentCache (one per role, role service and feature, named as
 * Install-WindowsFeature names them: Web-Server, RDS-RD-Server, …) whose InstallState is 1
 * (0: not installed). Undefined when the key is absent (client Windows). Sorted by name.
 */
export async function readServerFeatures(software: Hive): Promise<string[] | undefined> {
  const cache = await software.key(SERVER_COMPONENTS);
  if (!cache) return undefined;
  const out: string[] = [];
  for (const k of (await cache.subkeys()).slice(0, MAX_FEATURES)) {
    if ((await k.value('InstallState'))?.dword() === 1) out.push(k.name);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
