import type { Hive, RegKey } from '../../registry/index.js';
import type { ServiceInfo } from '../types.js';
import { compareText } from '../../util/compare.js';

const START = ['boot', 'system', 'auto', 'demand', 'disabled'] as const;

/** Service type bits (winnt.h SERVICE_*): drivers, own-process and shared-process services. */
function kindOf(type: number): string {
  if (type & 0x1) return 'kernel-driver';
  if (type & 0x2) return 'filesystem-driver';
  if (type & 0x10) return 'win32-own-process';
  if (type & 0x20) return 'win32-share-process';
  if (type & 0x4) return 'adapter';
  if (type & 0x8) return 'recognizer-driver';
  return 'unknown';
}

/** Services whose key is as many as a real Windows has (~600) are listed; more is not a registry. */
const MAX_SERVICES = 20000;

/**
 * SYSTEM\<ControlSet>\Services: every subkey with a Type value is a service or driver
 * (the others hold parameters). Those started at boot, by the system or automatically
 * are enabled ('boot' | 'system' | 'auto' in enabled_in).
 */
export async function readServices(system: Hive, cs: string): Promise<ServiceInfo[]> {
  const root = await system.key(`${cs}\\Services`);
  if (!root) return [];
  const keys = await root.subkeys();
  const out: ServiceInfo[] = [];
  for (const k of keys.slice(0, MAX_SERVICES)) {
    const s = await serviceOf(k);
    if (s) out.push(s);
  }
  return out.sort((a, b) => compareText(a.name, b.name));
}

async function serviceOf(k: RegKey): Promise<ServiceInfo | undefined> {
  const vals = new Map((await k.values()).map((v) => [v.name.toLowerCase(), v]));
  const type = vals.get('type')?.dword();
  if (type === undefined) return undefined;
  const startN = vals.get('start')?.dword();
  const start = startN !== undefined && startN < START.length ? START[startN]! : 'unknown';
  const delayed = vals.get('delayedautostart')?.dword() === 1;
  const image = vals.get('imagepath')?.string();
  const display = vals.get('displayname')?.string();
  return {
    name: k.name,
    kind: kindOf(type),
    enabled_in: start === 'boot' || start === 'system' || start === 'auto' ? [start] : [],
    start: start === 'auto' && delayed ? 'auto-delayed' : start,
    service_type: type,
    ...(image ? { image_path: image } : {}),
    ...(display ? { display_name: display } : {}),
  };
}
