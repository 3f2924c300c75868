import type { Hive } from '../../registry/index.js';
import type { WindowsUpdate } from '../types.js';
import { UNINSTALL_VIEWS } from './applications.js';

export const CBS = 'Microsoft\\Windows\\CurrentVersion\\Component Based Servicing';
const MAX_PACKAGES = 100000;
const MAX_UNINSTALL = 20000;

/** CBS package CurrentState values (the servicing stack's package states). */
const CBS_STATES: Record<number, string> = {
  0x00: 'absent',
  0x05: 'uninstall_pending',
  0x10: 'resolving',
  0x20: 'resolved',
  0x30: 'staging',
  0x40: 'staged',
  0x50: 'superseded',
  0x60: 'install_pending',
  0x65: 'partially_installed',
  0x70: 'installed',
  0x80: 'permanent',
};

/** Package_for_KB5034439~…, Package_1_for_KB5034439~… (the parts of one update). */
const CBS_KB = /^Package_(?:\d+_)?for_(KB\d+)~/i;
const KB = /\bKB(\d{6,8})\b/i;

/**
 * Installed updates by KB number: the Component Based Servicing packages named for a KB
 * (SOFTWARE\…\Component Based Servicing\Packages\Package_for_KB…: CurrentState, and the install
 * time as a FILETIME split in InstallTimeHigh/InstallTimeLow), one entry per KB — the main
 * package's state and time, else its first part's — then the Uninstall keys (both views) that
 * name a KB in the key name or DisplayName (InstallDate YYYYMMDD) for KBs CBS does not list.
 * Only the names of CBS packages are read, and the values of the KB ones. `found` receives the keys read.
 */
export async function readUpdates(software: Hive, found?: string[]): Promise<WindowsUpdate[]> {
  const byKb = new Map<string, WindowsUpdate & { main: boolean }>();
  const pkgs = await software.key(`${CBS}\\Packages`);
  if (pkgs) {
    found?.push(pkgs.path);
    for (const k of (await pkgs.subkeys()).slice(0, MAX_PACKAGES)) {
      const m = CBS_KB.exec(k.name);
      if (!m) continue;
      const kb = m[1]!.toUpperCase();
      const main = /^Package_for_/i.test(k.name);
      const had = byKb.get(kb);
      if (had && (had.main || !main)) continue;
      const state = (await k.value('CurrentState'))?.dword();
      const hi = (await k.value('InstallTimeHigh'))?.dword();
      const lo = (await k.value('InstallTimeLow'))?.dword();
      const ft = hi !== undefined && lo !== undefined ? (BigInt(hi) << 32n) | BigInt(lo) : 0n;
      const installed = ft > 0n ? new Date(Number(ft / 10000n) - 11644473600000).toISOString() : undefined;
      byKb.set(kb, {
        kb,
        source: 'cbs',
        package: k.name,
        ...(state !== undefined ? { state: CBS_STATES[state] ?? `0x${state.toString(16)}` } : {}),
        ...(installed ? { installed } : {}),
        main,
      });
    }
  }
  for (const view of UNINSTALL_VIEWS) {
    const key = await software.key(view);
    if (!key) continue;
    found?.push(key.path);
    for (const k of (await key.subkeys()).slice(0, MAX_UNINSTALL)) {
      const display = (await k.value('DisplayName'))?.string()?.trim();
      const m = KB.exec(k.name) ?? (display ? KB.exec(display) : null);
      if (!m) continue;
      const kb = `KB${m[1]}`;
      if (byKb.has(kb)) continue;
      const date = /^(\d{4})(\d{2})(\d{2})$/.exec((await k.value('InstallDate'))?.string()?.trim() ?? '');
      const product = ((await k.value('ParentDisplayName'))?.string() ?? display)?.trim();
      byKb.set(kb, {
        kb,
        source: 'uninstall',
        package: k.name,
        ...(date ? { installed: `${date[1]}-${date[2]}-${date[3]}` } : {}),
        ...(product ? { product } : {}),
        main: true,
      });
    }
  }
  return [...byKb.values()].map(({ main: _main, ...u }) => u).sort((a, b) => Number(a.kb.slice(2)) - Number(b.kb.slice(2)));
}
