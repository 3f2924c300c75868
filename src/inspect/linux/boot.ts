import type { GuestView } from '../guest-view.js';
import type { Bootloader, Kernel } from '../types.js';
import { contentLines, parseKeyValue } from '../parse.js';

/** Installed kernels: /boot/vmlinuz-* (and /boot/vmlinux-*) matched with /lib/modules/* and initrds. */
export async function detectKernels(g: GuestView): Promise<Kernel[]> {
  const boot = await g.list('/boot');
  const modules = new Set(await g.list('/lib/modules'));
  const versions = new Set<string>();
  for (const n of boot) {
    const m = /^(?:vmlinuz|vmlinux|kernel)-(.+)$/.exec(n);
    if (m && !m[1]!.endsWith('.hmac')) versions.add(m[1]!);
  }
  for (const v of modules) versions.add(v);
  const out: Kernel[] = [];
  for (const version of [...versions].sort(compareVersions)) {
    const k: Kernel = { version };
    const img = ['vmlinuz', 'vmlinux', 'kernel'].map((p) => `${p}-${version}`).find((n) => boot.includes(n));
    if (img) k.vmlinuz = `/boot/${img}`;
    const initrd = [`initrd.img-${version}`, `initramfs-${version}.img`, `initrd-${version}`, `initrd-${version}.img`].find((n) => boot.includes(n));
    if (initrd) k.initrd = `/boot/${initrd}`;
    if (modules.has(version)) k.modules_dir = `/lib/modules/${version}`;
    out.push(k);
  }
  return out;
}

/** Numeric-aware version order (6.1.0-9 < 6.1.0-10). */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true });
}

interface GrubEntry {
  title: string;
  id?: string;
  kernel?: string;
  initrd?: string;
  options?: string;
}

/** menuentry blocks of a grub.cfg, submenus flattened with their "Title>Title" path. */
export function parseGrubCfg(text: string): { entries: GrubEntry[]; defaultEntry?: string; timeout?: number } {
  const entries: GrubEntry[] = [];
  let defaultEntry: string | undefined;
  let timeout: number | undefined;
  let depth = 0;
  let cur: GrubEntry | undefined;
  let curDepth = -1;
  for (const line of contentLines(text)) {
    const dm = /^set\s+default=["']?([^"'\s]*)["']?/.exec(line);
    if (dm && depth === 0) defaultEntry = dm[1];
    const tm = /^set\s+timeout=["']?(\d+)/.exec(line);
    if (tm && depth === 0) timeout = Number(tm[1]);
    const me = /^menuentry\s+(['"])(.*?)\1(.*)\{\s*$/.exec(line);
    if (me) {
      const id = /\$menuentry_id_option\s+['"]([^'"]+)['"]/.exec(me[3]!)?.[1];
      cur = { title: me[2]!, ...(id ? { id } : {}) };
      curDepth = depth;
      entries.push(cur);
      depth++;
      continue;
    }
    if (/^submenu\s/.test(line) && line.endsWith('{')) {
      depth++;
      continue;
    }
    if (line === '}' || line.endsWith(' }')) {
      depth = Math.max(0, depth - 1);
      if (cur && depth === curDepth) cur = undefined;
      continue;
    }
    if (line.endsWith('{')) depth++;
    if (cur) {
      const lk = /^linux(?:efi|16)?\s+(\S+)\s*(.*)$/.exec(line);
      if (lk) {
        cur.kernel = lk[1]!;
        if (lk[2]) cur.options = lk[2];
      }
      const ir = /^initrd(?:efi|16)?\s+(\S+)/.exec(line);
      if (ir) cur.initrd = ir[1]!;
    }
  }
  return { entries, ...(defaultEntry !== undefined ? { defaultEntry } : {}), ...(timeout !== undefined ? { timeout } : {}) };
}

/** Boot Loader Specification entries (/boot/loader/entries/*.conf: RHEL 8+, Fedora). */
async function blsEntries(g: GuestView): Promise<GrubEntry[]> {
  const out: GrubEntry[] = [];
  for (const n of await g.list('/boot/loader/entries')) {
    if (!n.endsWith('.conf')) continue;
    const text = await g.text(`/boot/loader/entries/${n}`, 64 * 1024);
    if (!text) continue;
    const kv = new Map<string, string>();
    for (const l of contentLines(text)) {
      const m = /^(\S+)\s+(.*)$/.exec(l);
      if (m && !kv.has(m[1]!)) kv.set(m[1]!, m[2]!);
    }
    // `initrd` may list several images and grub variables ($tuned_initrd) that only grub expands.
    const initrd = (kv.get('initrd') ?? '').split(/\s+/).find((t) => t !== '' && !t.startsWith('$'));
    out.push({
      title: kv.get('title') ?? n.replace(/\.conf$/, ''),
      id: n.replace(/\.conf$/, ''),
      ...(kv.get('linux') ? { kernel: kv.get('linux')! } : {}),
      ...(initrd ? { initrd } : {}),
      ...(kv.get('options') ? { options: kv.get('options')! } : {}),
    });
  }
  return out.sort((a, b) => compareVersions(b.id ?? '', a.id ?? ''));
}

/** The boot loader, its entries and the default one. */
export async function detectBootloader(g: GuestView): Promise<Bootloader | undefined> {
  for (const cfg of ['/boot/grub/grub.cfg', '/boot/grub2/grub.cfg', '/boot/efi/EFI/redhat/grub.cfg', '/boot/efi/EFI/fedora/grub.cfg', '/boot/efi/EFI/centos/grub.cfg', '/boot/efi/EFI/rocky/grub.cfg']) {
    const text = await g.text(cfg);
    if (text === undefined) continue;
    const p = parseGrubCfg(text);
    let entries: GrubEntry[] = p.entries;
    // grub2 with BLS (`blscfg`) keeps its entries outside grub.cfg.
    if (/^\s*blscfg\s*$/m.test(text)) entries = [...(await blsEntries(g)), ...entries];
    const env = await g.text('/boot/grub2/grubenv', 4096) ?? (await g.text('/boot/grub/grubenv', 4096));
    const saved = env ? parseKeyValue(env).get('saved_entry') : undefined;
    const def = pickDefault(entries, p.defaultEntry, saved);
    return {
      type: 'grub2',
      config: cfg,
      entries: entries.map(({ title, kernel, initrd, options }) => ({ title, ...(kernel ? { kernel } : {}), ...(initrd ? { initrd } : {}), ...(options ? { options } : {}) })),
      ...(def ? { default_entry: def.title, ...(def.kernel ? { default_kernel: def.kernel } : {}) } : {}),
      ...(p.timeout !== undefined ? { timeout: p.timeout } : {}),
    };
  }
  for (const cfg of ['/boot/grub/menu.lst', '/boot/grub/grub.conf']) {
    const text = await g.text(cfg);
    if (text === undefined) continue;
    const entries: GrubEntry[] = [];
    let def = 0;
    for (const l of contentLines(text)) {
      const t = /^title\s+(.*)$/.exec(l);
      if (t) entries.push({ title: t[1]! });
      const k = /^kernel\s+(\S+)\s*(.*)$/.exec(l);
      if (k && entries.length) Object.assign(entries[entries.length - 1]!, { kernel: k[1]!, options: k[2] });
      const i = /^initrd\s+(\S+)/.exec(l);
      if (i && entries.length) entries[entries.length - 1]!.initrd = i[1]!;
      const d = /^default\s*=?\s*(\d+)/.exec(l);
      if (d) def = Number(d[1]);
    }
    const de = entries[def];
    return { type: 'grub-legacy', config: cfg, entries, ...(de ? { default_entry: de.title, ...(de.kernel ? { default_kernel: de.kernel } : {}) } : {}) };
  }
  const sdboot = await g.text('/boot/efi/loader/loader.conf', 64 * 1024);
  if (sdboot !== undefined) {
    return { type: 'systemd-boot', config: '/boot/efi/loader/loader.conf', entries: [] };
  }
  return undefined;
}

function pickDefault(entries: GrubEntry[], def?: string, saved?: string): GrubEntry | undefined {
  let key = def;
  if (key === 'saved' || key === '${saved_entry}' || key === '"${saved_entry}"') key = saved;
  if (key === undefined || key === '') return entries[0];
  if (/^\d+$/.test(key)) return entries[Number(key)];
  return entries.find((e) => e.id === key || e.title === key) ?? entries[0];
}
