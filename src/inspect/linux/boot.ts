import type { GuestView } from '../guest-view.js';
import type { Bootloader, Kernel } from '../types.js';
import { contentLines, parseKeyValue } from '../parse.js';
import { compareNatural } from '../../util/compare.js';

/** Installed kernels: /boot/vmlinuz-* (and /boot/vmlinux-*) matched with /lib/modules/* and initrds. */
export async function detectKernels(g: GuestView): Promise<Kernel[]> {
  const bootNames = await g.list('/boot');
  const boot = new Set(bootNames);
  const modules = new Set(await g.list('/lib/modules'));
  const versions = new Set<string>();
  for (const n of bootNames) {
    const m = /^(?:vmlinuz|vmlinux|kernel)-(.+)$/.exec(n);
    if (m && !m[1]!.endsWith('.hmac')) versions.add(m[1]!);
  }
  // Alpine names images by flavour (vmlinuz-lts) and modules by version (6.6.14-0-lts):
  // an image without modules pairs with the one modules dir of its flavour that has no image.
  // Modules dirs are indexed by every "-suffix" once, so pairing is linear in the names.
  const bySuffix = new Map<string, string[]>();
  for (const m of modules) {
    if (versions.has(m)) continue;
    for (let i = m.indexOf('-'); i >= 0; i = m.indexOf('-', i + 1)) {
      const suffix = m.slice(i + 1);
      const list = bySuffix.get(suffix);
      if (list) list.push(m);
      else bySuffix.set(suffix, [m]);
    }
  }
  const flavourOf = new Map<string, string>();
  const modulesOf = new Map<string, string>();
  for (const v of versions) {
    if (modules.has(v)) continue;
    const mods = bySuffix.get(v) ?? [];
    if (mods.length === 1 && !flavourOf.has(mods[0]!)) {
      flavourOf.set(mods[0]!, v);
      modulesOf.set(v, mods[0]!);
    }
  }
  for (const v of modules) if (!flavourOf.has(v)) versions.add(v);
  const out: Kernel[] = [];
  for (const version of [...versions].sort(compareVersions)) {
    const modulesVersion = modulesOf.get(version);
    const k: Kernel = { version: modulesVersion ?? version };
    const img = ['vmlinuz', 'vmlinux', 'kernel'].map((p) => `${p}-${version}`).find((n) => boot.has(n));
    if (img) k.vmlinuz = `/boot/${img}`;
    const initrd = [`initrd.img-${version}`, `initramfs-${version}.img`, `initrd-${version}`, `initrd-${version}.img`, `initramfs-${version}`].find((n) => boot.has(n));
    if (initrd) k.initrd = `/boot/${initrd}`;
    const mods = modulesVersion ?? version;
    if (modules.has(mods)) k.modules_dir = `/lib/modules/${mods}`;
    out.push(k);
  }
  return out.sort((a, b) => compareVersions(a.version, b.version));
}

/** Numeric-aware version order (6.1.0-9 < 6.1.0-10). */
export function compareVersions(a: string, b: string): number {
  return compareNatural(a, b);
}

interface GrubEntry {
  title: string;
  id?: string;
  kernel?: string;
  initrd?: string;
  options?: string;
}

/**
 * `menuentry 'Title' … {`: the title up to its closing quote and the rest of the line. Scanned,
 * not matched with a lazy regex, which backtracks quadratically on a long line of quotes.
 */
function menuentry(line: string): { title: string; rest: string } | undefined {
  const m = /^menuentry\s+(['"])/.exec(line);
  if (!m || !/\{\s*$/.test(line)) return undefined;
  const start = m[0].length;
  const end = line.indexOf(m[1]!, start);
  if (end < 0) return undefined;
  const rest = line.slice(end + 1);
  return /\{\s*$/.test(rest) ? { title: line.slice(start, end), rest: rest.replace(/\{\s*$/, '') } : undefined;
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
    const me = menuentry(line);
    if (me) {
      const id = /\$menuentry_id_option\s+['"]([^'"]+)['"]/.exec(me.rest)?.[1];
      cur = { title: me.title, ...(id ? { id } : {}) };
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

const MAX_EXPANDED_VARS = 64 * 1024;

/**
 * grub's view of `$name` / `${name}` in a BLS line: grubenv's variables (RHEL 8 keeps
 * $kernelopts there), then grub.cfg's plain top-level `set` (00_tuned's $tuned_params);
 * unset ones expand to nothing, as in grub.
 */
function expandGrubVars(text: string, vars: Map<string, string>): string {
  // values substituted add up to 64 KiB at most (a kernel command line is 2-4 KiB): 200 uses of
  // one 1 MiB grub.cfg variable made a 200 MB string, 2,000 a RangeError (invalid string length)
  let room = MAX_EXPANDED_VARS;
  return text
    .replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, name: string) => {
      const v = (vars.get(name) ?? '').slice(0, Math.max(0, room));
      room -= v.length;
      return v;
    })
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Variables grub holds when it reads BLS entries: grub.cfg runs load_env first, so its
 * unconditional literal `set`s (00_tuned) override grubenv, while a `set` inside an `if`
 * (10_linux's `if [ -z "${kernelopts}" ]` fallback) only fills what grubenv left unset.
 */
function grubVars(env: string | undefined, cfg: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of (env ?? '').split('\n')) {
    const eq = line.indexOf('=');
    if (!line.startsWith('#') && eq > 0) vars.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const fallback = new Map<string, string>();
  let ifDepth = 0;
  for (const line of contentLines(cfg)) {
    if (/^if\s/.test(line)) ifDepth++;
    else if (/^fi\b/.test(line)) ifDepth = Math.max(0, ifDepth - 1);
    const m = /^set\s+([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"$]*)"|'([^']*)'|([^\s"'$]*))\s*$/.exec(line);
    if (!m) continue;
    const value = m[2] ?? m[3] ?? m[4] ?? '';
    if (ifDepth === 0) vars.set(m[1]!, value);
    else if (!fallback.has(m[1]!)) fallback.set(m[1]!, value);
  }
  for (const [k, v] of fallback) if (!vars.has(k)) vars.set(k, v);
  return vars;
}

/** BLS entries read at most: a real system keeps a handful (one per installed kernel). */
const MAX_BLS_ENTRIES = 1000;

/** Boot Loader Specification entries (/boot/loader/entries/*.conf: RHEL 8+, Fedora). */
async function blsEntries(g: GuestView, vars: Map<string, string>): Promise<GrubEntry[]> {
  const out: GrubEntry[] = [];
  const names = (await g.list('/boot/loader/entries')).filter((n) => n.endsWith('.conf'));
  if (names.length > MAX_BLS_ENTRIES) g.warn(`/boot/loader/entries: ${names.length} entries; only the first ${MAX_BLS_ENTRIES} were read`);
  for (const n of names.slice(0, MAX_BLS_ENTRIES)) {
    const text = await g.text(`/boot/loader/entries/${n}`, 64 * 1024);
    if (!text) continue;
    const kv = new Map<string, string>();
    for (const l of contentLines(text)) {
      const m = /^(\S+)\s+(.*)$/.exec(l);
      if (m && !kv.has(m[1]!)) kv.set(m[1]!, m[2]!);
    }
    // `initrd` may list several images and grub variables ($tuned_initrd) that only grub expands.
    const initrd = expandGrubVars(kv.get('initrd') ?? '', vars).split(' ')[0];
    const options = expandGrubVars(kv.get('options') ?? '', vars);
    out.push({
      title: kv.get('title') ?? n.replace(/\.conf$/, ''),
      id: n.replace(/\.conf$/, ''),
      ...(kv.get('linux') ? { kernel: kv.get('linux')! } : {}),
      ...(initrd ? { initrd } : {}),
      ...(options ? { options } : {}),
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
    const env = (await g.text('/boot/grub2/grubenv', 4096)) ?? (await g.text('/boot/grub/grubenv', 4096));
    // grub2 with BLS (`blscfg`) keeps its entries outside grub.cfg.
    if (/^[ \t]*blscfg[ \t\r]*$/m.test(text)) entries = [...(await blsEntries(g, grubVars(env, text))), ...entries];
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
  // Red Hat's file is grub.conf (menu.lst a link to it); Debian and SUSE have menu.lst only.
  for (const cfg of ['/boot/grub/grub.conf', '/boot/grub/menu.lst']) {
    const text = await g.text(cfg);
    if (text === undefined) continue;
    const entries: GrubEntry[] = [];
    let def = 0;
    let timeout: number | undefined;
    for (const l of contentLines(text)) {
      const t = /^title[\s=]+(.*)$/.exec(l);
      if (t) entries.push({ title: t[1]!.trim() });
      const k = /^kernel[\s=]+(\S+)\s*(.*)$/.exec(l);
      if (k && entries.length) Object.assign(entries[entries.length - 1]!, { kernel: k[1]!, ...(k[2] ? { options: k[2] } : {}) });
      const i = /^initrd[\s=]+(\S+)/.exec(l);
      if (i && entries.length) entries[entries.length - 1]!.initrd = i[1]!;
      if (entries.length) continue;
      const d = /^default[\s=]+(\d+)/.exec(l);
      if (d) def = Number(d[1]);
      const to = /^timeout[\s=]+(\d+)/.exec(l);
      if (to) timeout = Number(to[1]);
    }
    const de = entries[def];
    return {
      type: 'grub-legacy',
      config: cfg,
      entries,
      ...(de ? { default_entry: de.title, ...(de.kernel ? { default_kernel: de.kernel } : {}) } : {}),
      ...(timeout !== undefined ? { timeout } : {}),
    };
  }
  const sys = await syslinux(g);
  if (sys) return sys;
  const sdboot = await g.text('/boot/efi/loader/loader.conf', 64 * 1024);
  if (sdboot !== undefined) {
    return { type: 'systemd-boot', config: '/boot/efi/loader/loader.conf', entries: [] };
  }
  return undefined;
}

const SYSLINUX_CONFIGS = ['/boot/extlinux.conf', '/boot/extlinux/extlinux.conf', '/boot/syslinux/syslinux.cfg', '/boot/syslinux/extlinux.conf', '/boot/syslinux.cfg'];

/**
 * SYSLINUX/EXTLINUX (Alpine's update-extlinux): LABEL blocks; the default is `MENU DEFAULT`
 * inside a label, else DEFAULT naming a label (DEFAULT menu.c32 names the menu module);
 * TIMEOUT is in tenths of a second.
 */
async function syslinux(g: GuestView): Promise<Bootloader | undefined> {
  for (const cfg of SYSLINUX_CONFIGS) {
    const text = await g.text(cfg, 1024 * 1024);
    if (text === undefined) continue;
    const entries: (GrubEntry & { label: string })[] = [];
    let defLabel: string | undefined;
    let menuDefault: string | undefined;
    let timeout: number | undefined;
    for (const line of contentLines(text)) {
      const m = /^(\S+)\s*(.*)$/.exec(line);
      if (!m) continue;
      const key = m[1]!.toUpperCase();
      const val = m[2]!.trim();
      const cur = entries[entries.length - 1];
      if (key === 'LABEL') entries.push({ label: val, title: val });
      else if (key === 'DEFAULT' && !cur) defLabel = val.split(/\s+/)[0];
      else if (key === 'TIMEOUT' && !cur && /^\d+$/.test(val)) timeout = Math.round(Number(val) / 10);
      else if (key === 'MENU' && cur && /^LABEL\s/i.test(val)) cur.title = val.replace(/^LABEL\s+/i, '');
      else if (key === 'MENU' && cur && /^DEFAULT$/i.test(val)) menuDefault = cur.label;
      else if ((key === 'LINUX' || key === 'KERNEL') && cur) cur.kernel = val.split(/\s+/)[0]!;
      else if (key === 'INITRD' && cur) cur.initrd = val.split(',')[0]!;
      else if (key === 'APPEND' && cur && val !== '') cur.options = val;
    }
    const de = entries.find((e) => e.label === menuDefault) ?? entries.find((e) => e.label === defLabel) ?? entries[0];
    return {
      type: 'syslinux',
      config: cfg,
      entries: entries.map(({ title, kernel, initrd, options }) => ({ title, ...(kernel ? { kernel } : {}), ...(initrd ? { initrd } : {}), ...(options ? { options } : {}) })),
      ...(de ? { default_entry: de.title, ...(de.kernel ? { default_kernel: de.kernel } : {}) } : {}),
      ...(timeout !== undefined ? { timeout } : {}),
    };
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
