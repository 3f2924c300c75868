import type { LinuxGuest } from './guest.js';

export interface Located {
  file: string;
  line: number;
}

/** Logical lines of a file with `\` continuations joined; each keeps the number of its first physical line. */
export function logicalLines(lines: string[]): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let buf = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (buf === '') start = i + 1;
    if (l.endsWith('\\')) {
      buf += l.slice(0, -1) + ' ';
      continue;
    }
    buf += l;
    out.push({ text: buf, line: start });
    buf = '';
  }
  if (buf !== '') out.push({ text: buf, line: start });
  return out;
}

// ---- modprobe.d ---------------------------------------------------------------------------------

export const MODPROBE_DIRS = ['/etc/modprobe.d', '/run/modprobe.d', '/usr/local/lib/modprobe.d', '/usr/lib/modprobe.d', '/lib/modprobe.d'];

export interface ModprobeConfig {
  /** module → its first install command (kmod uses only the first, as module-init-tools did). */
  install: Map<string, Located & { command: string }>;
  blacklist: Map<string, Located>;
}

/** kmod treats - and _ in module names alike. */
export const modName = (m: string) => m.replace(/-/g, '_');

/** modprobe.d as kmod reads it: *.conf by file name across the directories, an earlier directory hiding a later file of the same name. */
export async function modprobeConfig(g: LinuxGuest): Promise<ModprobeConfig> {
  return g.once('modprobe', async () => {
    const byName = new Map<string, string>();
    for (const d of MODPROBE_DIRS) for (const n of await g.list(d)) if (n.endsWith('.conf') && !byName.has(n)) byName.set(n, `${d}/${n}`);
    const cfg: ModprobeConfig = { install: new Map(), blacklist: new Map() };
    for (const n of [...byName.keys()].sort()) {
      const f = byName.get(n)!;
      const lines = await g.lines(f);
      if (!lines) continue;
      for (const { text, line } of logicalLines(lines)) {
        const t = text.trim();
        if (t === '' || t.startsWith('#')) continue;
        const tok = t.split(/\s+/);
        const cmd = tok[0];
        if (cmd === 'install' && tok.length >= 3) {
          const m = modName(tok[1]!);
          if (!cfg.install.has(m)) cfg.install.set(m, { file: f, line, command: tok.slice(2).join(' ') });
        } else if (cmd === 'blacklist' && tok.length >= 2) {
          const m = modName(tok[1]!);
          if (!cfg.blacklist.has(m)) cfg.blacklist.set(m, { file: f, line });
        }
      }
    }
    return cfg;
  });
}

/** Modules each installed kernel ships (modules.dep) or has built in (modules.builtin). */
export async function kernelModules(g: LinuxGuest): Promise<{ kernels: string[]; shipped: Map<string, string>; builtin: Map<string, string> }> {
  return g.once('kmods', async () => {
    const shipped = new Map<string, string>();
    const builtin = new Map<string, string>();
    const kernels: string[] = [];
    const seen = new Set<string>();
    for (const base of ['/lib/modules', '/usr/lib/modules']) {
      // merged /usr: /lib is a link to /usr/lib, and the same modules.dep would be read twice
      const real = await g.view.realpath(base);
      if (real === undefined || seen.has(real)) continue;
      seen.add(real);
      for (const v of await g.list(base)) {
        const dep = await g.view.text(`${base}/${v}/modules.dep`, 16 * 1024 * 1024);
        if (dep === undefined) continue;
        if (!kernels.includes(v)) kernels.push(v);
        for (const l of dep.split('\n')) {
          const colon = l.indexOf(':');
          if (colon <= 0) continue;
          const m = /([^/]+)\.ko(?:\.[a-z0-9]+)?$/.exec(l.slice(0, colon));
          if (m && !shipped.has(modName(m[1]!))) shipped.set(modName(m[1]!), `${base}/${v}/${l.slice(0, colon)}`);
        }
        const bi = (await g.view.text(`${base}/${v}/modules.builtin`, 4 * 1024 * 1024)) ?? '';
        for (const l of bi.split('\n')) {
          const m = /([^/]+)\.ko$/.exec(l.trim());
          if (m && !builtin.has(modName(m[1]!))) builtin.set(modName(m[1]!), `${base}/${v}/modules.builtin`);
        }
      }
    }
    return { kernels, shipped, builtin };
  });
}

// ---- audit rules --------------------------------------------------------------------------------

export interface AuditRule extends Located {
  raw: string;
  watch?: string;
  perms?: string;
  list?: string;
  action?: string;
  syscalls: string[];
  fields: { name: string; op: string; value: string }[];
  enable?: string;
}

/** Tokens of an auditctl rule line (no quoting beyond plain words is used in rule files). */
export function parseAuditRule(text: string, at: Located): AuditRule | undefined {
  const tok = text.trim().split(/\s+/);
  if (tok.length === 0 || tok[0] === '' || tok[0]!.startsWith('#')) return undefined;
  const r: AuditRule = { ...at, raw: text.trim(), syscalls: [], fields: [] };
  for (let i = 0; i < tok.length; i++) {
    const t = tok[i]!;
    const next = () => tok[++i] ?? '';
    if (t === '-w') r.watch = next().replace(/(.)\/+$/, '$1');
    else if (t === '-p') r.perms = next();
    else if (t === '-k') r.fields.push({ name: 'key', op: '=', value: next() });
    else if (t === '-a' || t === '-A') {
      const [a, b] = next().split(',');
      const lists = ['exit', 'task', 'user', 'exclude', 'filesystem', 'io_uring'];
      if (a && lists.includes(a)) [r.list, r.action] = [a, b];
      else [r.action, r.list] = [a, b];
    } else if (t === '-S') r.syscalls.push(...next().split(',').filter(Boolean));
    else if (t === '-F' || t === '-C') {
      const m = /^([A-Za-z0-9_]+)(!=|>=|<=|=|>|<|&=|&)(.*)$/.exec(next());
      if (m) r.fields.push({ name: m[1]!, op: m[2]!, value: m[3]! });
    } else if (t === '-e') r.enable = next();
  }
  return r;
}

/**
 * The rules auditd loads at boot: /etc/audit/rules.d/*.rules concatenated in name order (what
 * augenrules writes), or /etc/audit/audit.rules when rules.d holds none.
 */
export async function auditRules(g: LinuxGuest): Promise<{ rules: AuditRule[]; files: string[] }> {
  return g.once('audit', async () => {
    let files = (await g.list('/etc/audit/rules.d')).filter((n) => n.endsWith('.rules')).map((n) => `/etc/audit/rules.d/${n}`);
    if (files.length === 0 && (await g.stat('/etc/audit/audit.rules'))) files = ['/etc/audit/audit.rules'];
    const rules: AuditRule[] = [];
    for (const f of files) {
      const lines = await g.lines(f);
      lines?.forEach((l, i) => {
        const r = parseAuditRule(l, { file: f, line: i + 1 });
        if (r) rules.push(r);
      });
    }
    return { rules, files };
  });
}

// ---- PAM ----------------------------------------------------------------------------------------

export interface PamLine extends Located {
  type: string;
  control: string;
  module: string;
  args: string[];
}

/** Splits a PAM line: `type control module args`, where control may be a bracketed `[a=b c=d]` group. */
export function parsePamLine(text: string): Omit<PamLine, 'file' | 'line'> | { include: string } | undefined {
  const t = text.trim();
  if (t === '' || t.startsWith('#')) return undefined;
  const inc = /^@include\s+(\S+)/.exec(t);
  if (inc) return { include: inc[1]! };
  const m = /^(-?)(auth|account|password|session)\s+(\[[^\]]*\]|\S+)\s*(.*)$/i.exec(t);
  if (!m) return undefined;
  const type = m[2]!.toLowerCase();
  const control = m[3]!;
  const rest = m[4]!.trim();
  const words = rest.split(/\s+/).filter(Boolean);
  if (control === 'include' || control === 'substack') return words[0] ? { include: words[0] } : undefined;
  const module = (words[0] ?? '').split('/').pop() ?? '';
  return { type, control, module, args: words.slice(1) };
}

/** A PAM service's stack, includes and substacks followed (each file once). */
export async function pamStack(g: LinuxGuest, service: string): Promise<PamLine[] | undefined> {
  return g.once(`pam:${service}`, async () => {
    const first = await g.lines(`/etc/pam.d/${service}`);
    if (!first) return undefined;
    const out: PamLine[] = [];
    const seen = new Set<string>();
    const walk = async (name: string, depth: number) => {
      if (seen.has(name) || depth > 10) return;
      seen.add(name);
      const f = name.startsWith('/') ? name : `/etc/pam.d/${name}`;
      const lines = await g.lines(f);
      if (!lines) return;
      for (const { text, line } of logicalLines(lines)) {
        const p = parsePamLine(text);
        if (!p) continue;
        if ('include' in p) await walk(p.include, depth + 1);
        else out.push({ ...p, file: f, line });
      }
    };
    await walk(service, 0);
    return out;
  });
}

// ---- sudoers ------------------------------------------------------------------------------------

export interface SudoersLine extends Located {
  text: string;
}

/** sudoers and what it includes (@include/#include files, @includedir/#includedir directories). */
export async function sudoersLines(g: LinuxGuest): Promise<SudoersLine[] | undefined> {
  return g.once('sudoers', async () => {
    if (!(await g.stat('/etc/sudoers'))) return undefined;
    const out: SudoersLine[] = [];
    const seen = new Set<string>();
    const walk = async (f: string, depth: number) => {
      if (seen.has(f) || depth > 8) return;
      seen.add(f);
      const lines = await g.lines(f);
      if (!lines) return;
      for (const { text, line } of logicalLines(lines)) {
        const t = text.trim();
        const inc = /^[#@]include(dir)?\s+(\S+)/.exec(t);
        if (inc) {
          const target = inc[2]!.startsWith('/') ? inc[2]! : `${f.replace(/\/[^/]*$/, '')}/${inc[2]}`;
          if (!inc[1]) await walk(target, depth + 1);
          else for (const n of await g.list(target)) if (!n.includes('.') && !n.endsWith('~')) await walk(`${target}/${n}`, depth + 1);
          continue;
        }
        if (t === '' || t.startsWith('#')) continue;
        out.push({ text: t.replace(/\s+#.*$/, ''), file: f, line });
      }
    };
    await walk('/etc/sudoers', 0);
    return out;
  });
}

/** `Defaults` lines: the qualifier (`:user`, `@host`, `!cmd`, `>runas` or '') and their parameters. */
export function sudoDefaults(lines: SudoersLine[]): { scope: string; param: string; at: SudoersLine }[] {
  const out: { scope: string; param: string; at: SudoersLine }[] = [];
  for (const l of lines) {
    const m = /^Defaults([:@!>]\S+)?\s+(.*)$/.exec(l.text);
    if (!m) continue;
    for (const p of splitParams(m[2]!)) out.push({ scope: m[1] ?? '', param: p, at: l });
  }
  return out;
}

/** Comma-separated parameters, commas inside double quotes kept. */
function splitParams(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (const c of s) {
    if (c === '"') q = !q;
    if (c === ',' && !q) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}
