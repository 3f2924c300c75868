import { FsError } from '../../fs/errors.js';
import type { DirEntry, FileSystem } from '../../fs/types.js';
import { faultOf } from '../../inspect/faults.js';
import { describe, satisfies } from '../expect.js';
import type { Evaluator, Evidence, Verdict } from '../types.js';
import { auditRules, kernelModules, modName, modprobeConfig, pamStack, sudoDefaults, sudoersLines, type AuditRule } from './configs.js';
import type { LinuxGuest } from './guest.js';
import { sshdEffective } from './sshd.js';
import { sysctlValue } from './sysctl.js';
import { systemdConf, unitState } from './systemd.js';
import { compareText } from '../../util/compare.js';

const pass = (message: string, evidence: Evidence[] = []): Verdict => ({ status: 'pass', message, evidence });
const fail = (message: string, evidence: Evidence[] = []): Verdict => ({ status: 'fail', message, evidence });
const na = (message: string, evidence: Evidence[] = []): Verdict => ({ status: 'not_applicable', message, evidence });
const missingAs = (m: 'pass' | 'fail' | 'not_applicable', message: string, evidence: Evidence[] = []): Verdict => ({ status: m, message, evidence });

const octal = (n: number) => '0' + (n & 0o7777).toString(8).padStart(3, '0');

type Of<T extends Evaluator['type']> = Extract<Evaluator, { type: T }>;

/** Packages a check needs before it can be judged: without them it is not applicable. */
async function needs(g: LinuxGuest, pkgs: string[] | undefined): Promise<Verdict | undefined> {
  if (!pkgs?.length) return undefined;
  const have = await g.packages();
  if (!have) return { status: 'error', message: 'the package database could not be read', evidence: [] };
  return pkgs.some((p) => have.has(p)) ? undefined : na(`${pkgs.join(' / ')} not installed`);
}

async function fileMode(g: LinuxGuest, e: Of<'file_mode'>): Promise<Verdict> {
  const paths: string[] = [];
  for (const p of e.paths) paths.push(...(/[*?]/.test(p) ? await g.glob(p) : (await g.stat(p)) ? [p] : []));
  if (paths.length === 0) return missingAs(e.missing, `${e.paths.join(', ')}: not present`, [{ file: e.paths[0], value: 'missing' }]);
  const { users, groups } = await g.names();
  const ev: Evidence[] = [];
  let bad = 0;
  const max = e.max_mode !== undefined ? parseInt(e.max_mode, 8) : undefined;
  for (const p of paths) {
    const st = (await g.stat(p))!;
    const problems: string[] = [];
    const mode = st.mode & 0o7777;
    if (max !== undefined && (mode & ~max) !== 0) problems.push(`mode ${octal(mode)} exceeds ${octal(max)}`);
    const owner = users.get(st.uid) ?? String(st.uid);
    const group = groups.get(st.gid) ?? String(st.gid);
    if (e.owner && !e.owner.includes(owner) && !e.owner.includes(String(st.uid))) problems.push(`owner ${owner}`);
    if (e.group && !e.group.includes(group) && !e.group.includes(String(st.gid))) problems.push(`group ${group}`);
    const expected = [max !== undefined ? `mode <= ${octal(max)}` : '', e.owner ? `owner ${e.owner.join('|')}` : '', e.group ? `group ${e.group.join('|')}` : ''].filter(Boolean).join(', ');
    if (problems.length) bad++;
    if (problems.length || paths.length <= 4) ev.push({ file: p, value: `${octal(mode)} ${owner}:${group}`, expected, ...(problems.length ? { note: problems.join('; ') } : {}) });
  }
  return bad ? fail(`${bad} of ${paths.length} file(s) with wrong mode or owner`, ev) : pass(`${paths.length} file(s) as expected`, ev);
}

/**
 * Every entry under a tree with its lstat, walked once per guest however many checks ask. Only
 * the root is resolved by path: below it directories are listed and entries stat'ed by inode (a
 * path lookup per entry was most of the profile's filesystem work); a mount point is entered
 * through the VFS.
 */
function walkTree(g: LinuxGuest, root: string, maxDepth: number): Promise<{ path: string; type: string; mode: number; uid: number; gid: number }[]> {
  return g.once(`walk:${root}:${maxDepth}`, async () => {
    const vfs = g.view.vfs;
    const mounts = new Set(vfs.mountPoints().map((m) => m.path));
    const out: { path: string; type: string; mode: number; uid: number; gid: number }[] = [];
    const walk = async (dir: Dir, depth: number): Promise<void> => {
      const entries = await listDir(g, dir);
      for (const ent of entries) {
        const p = dir.path === '/' ? `/${ent.name}` : `${dir.path}/${ent.name}`;
        const mounted = mounts.has(p);
        const st = mounted ? await vfs.lstat(p) : await dir.fs.stat(ent.ino);
        if (st.type === 'symlink') continue;
        out.push({ path: p, type: st.type, mode: st.mode, uid: st.uid, gid: st.gid });
        if (st.type !== 'directory' || depth >= maxDepth) continue;
        const sub = mounted ? await resolveDir(g, p) : { fs: dir.fs, ino: ent.ino, path: p };
        if (sub) await walk(sub, depth + 1);
      }
    };
    const top = await resolveDir(g, root);
    if (top) await walk(top, 1);
    return out;
  });
}

interface Dir {
  fs: FileSystem;
  ino: number;
  path: string;
}

/** A directory by path; undefined when it is missing or not a directory (a warning when it cannot be read). */
async function resolveDir(g: LinuxGuest, path: string): Promise<Dir | undefined> {
  try {
    const r = await g.view.vfs.resolve(path, true, 'scandir');
    return (await r.mount.fs.stat(r.ino)).type === 'directory' ? { fs: r.mount.fs, ino: r.ino, path } : undefined;
  } catch (err) {
    return guestFault(g, path, err);
  }
}

/** A directory's entries, sorted as GuestView.entries sorts them; [] when it cannot be listed (a warning). */
async function listDir(g: LinuxGuest, dir: Dir): Promise<DirEntry[]> {
  try {
    const entries = (await dir.fs.readdir(dir.ino)).filter((e) => e.name !== '.' && e.name !== '..');
    return entries.sort((a, b) => compareText(a.name, b.name));
  } catch (err) {
    return guestFault(g, dir.path, err) ?? [];
  }
}

/** A damaged guest file is a warning (a missing one not even that); a bug or a spent budget goes on up. */
function guestFault(g: LinuxGuest, path: string, err: unknown): undefined {
  if (faultOf(err) !== 'guest') throw err;
  if (!(err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR'))) g.warn(`${path}: ${(err as Error).message}`);
  return undefined;
}

async function fileTree(g: LinuxGuest, e: Of<'file_tree'>): Promise<Verdict> {
  const { users, groups } = await g.names();
  const hits: Evidence[] = [];
  let seen = 0;
  for (const r of e.roots) {
    for (const x of await walkTree(g, r, e.max_depth)) {
      seen++;
      if (e.condition === 'world_writable_file' && x.type === 'file' && x.mode & 0o002) hits.push({ file: x.path, value: octal(x.mode), expected: 'not writable by others' });
      if (e.condition === 'unowned' && !users.has(x.uid)) hits.push({ file: x.path, value: `uid ${x.uid}`, expected: 'an owner in /etc/passwd' });
      if (e.condition === 'ungrouped' && !groups.has(x.gid)) hits.push({ file: x.path, value: `gid ${x.gid}`, expected: 'a group in /etc/group' });
    }
  }
  return hits.length ? fail(`${hits.length} of ${seen} entries under ${e.roots.join(', ')}`, hits.slice(0, 50)) : pass(`${seen} entries under ${e.roots.join(', ')} examined`);
}

/** Lines of a file (or of every file a glob matches) against a pattern: forbid applies to every line, require to any. */
async function fileText(g: LinuxGuest, e: Of<'file_text'>): Promise<Verdict> {
  const paths = /[*?]/.test(e.path) ? await g.glob(e.path) : [e.path];
  const files: { path: string; lines: string[] }[] = [];
  for (const p of paths) {
    const lines = await g.lines(p);
    if (lines) files.push({ path: p, lines });
  }
  if (files.length === 0) return missingAs(e.missing, `${e.path}: not present`, [{ file: e.path, value: 'missing', ...(e.require ? { expected: e.require } : {}) }]);
  if (e.forbid) {
    const re = new RegExp(e.forbid);
    const hits: Evidence[] = [];
    for (const f of files) {
      f.lines.forEach((l, i) => {
        const m = re.exec(l);
        if (m) hits.push({ file: f.path, line: i + 1, value: l.trim(), expected: `no match for ${e.forbid}`, note: `matched ${JSON.stringify(m[0])}` });
      });
    }
    if (hits.length) return fail(`${hits.length} forbidden line(s)`, hits);
  }
  if (e.require) {
    const re = new RegExp(e.require);
    for (const f of files) {
      const i = f.lines.findIndex((l) => re.test(l));
      if (i >= 0) return pass(`${f.path}:${i + 1} matches`, [{ file: f.path, line: i + 1, value: f.lines[i]!.trim(), expected: e.require }]);
    }
    return fail(`no line matches ${e.require}`, files.slice(0, 5).map((f) => ({ file: f.path, expected: e.require, value: f.lines.find((l) => l.trim() !== '')?.trim() ?? '(empty)' })));
  }
  return pass(`${files.map((f) => f.path).join(', ')} as expected`, files.map((f) => ({ file: f.path, value: `${f.lines.filter((l) => l.trim()).length} non-empty line(s)` })));
}

/** Reads one key of a simple config file (and its drop-ins); the assignment that ends in force. */
export async function keyValue(g: LinuxGuest, e: Pick<Of<'key_value'>, 'path' | 'dropins' | 'syntax' | 'key'>): Promise<{ value: string; file: string; line: number } | undefined | null> {
  const parsed = await keyValues(g, e);
  return parsed && (parsed.get(e.key) ?? undefined);
}

/** Every key of a file and its drop-ins (the last assignment wins), parsed once per guest; null when none of the files exists. */
function keyValues(g: LinuxGuest, e: Pick<Of<'key_value'>, 'path' | 'dropins' | 'syntax'>): Promise<Map<string, { value: string; file: string; line: number }> | null> {
  return g.once(`kv:${e.syntax}:${e.path}:${(e.dropins ?? []).join('\0')}`, async () => {
    const files = [e.path];
    for (const d of e.dropins ?? []) files.push(...(await g.glob(d)));
    const found = new Map<string, { value: string; file: string; line: number }>();
    let any = false;
    for (const f of files) {
      const lines = await g.lines(f);
      if (!lines) continue;
      any = true;
      lines.forEach((raw, i) => {
        const l = raw.trim();
        if (l === '' || l.startsWith('#')) return;
        let k: string;
        let v: string;
        if (e.syntax === 'space') {
          const m = /^(\S+)\s*(.*)$/.exec(l)!;
          [k, v] = [m[1]!, m[2]!.trim()];
        } else {
          const eq = l.indexOf('=');
          if (eq < 0) {
            if (e.syntax === 'shell') return;
            [k, v] = [l, 'true'];
          } else [k, v] = [l.slice(0, eq).trim(), l.slice(eq + 1).trim()];
          if (e.syntax === 'shell') {
            k = k.replace(/^export\s+/, '');
            v = v.replace(/^"(.*)"$|^'(.*)'$/, '$1$2');
          } else v = v.replace(/\s+#.*$/, '');
        }
        found.set(k, { value: v, file: f, line: i + 1 });
      });
    }
    return any ? found : null;
  });
}

async function keyValueCheck(g: LinuxGuest, e: Of<'key_value'>): Promise<Verdict> {
  const gate = await needs(g, e.requires_package);
  if (gate) return gate;
  const r = await keyValue(g, e);
  const expected = describe(e.expect);
  if (r === null) return missingAs(e.missing_file, `${e.path}: not present`, [{ file: e.path, value: 'missing', expected: `${e.key} ${expected}` }]);
  if (!r) {
    if (e.default === undefined) return fail(`${e.key} is not set in ${e.path}`, [{ file: e.path, value: 'not set', expected: `${e.key} ${expected}` }]);
    const ok = satisfies(String(e.default), e.expect);
    const ev = [{ file: e.path, value: `not set (default ${e.default})`, expected: `${e.key} ${expected}` }];
    return ok.ok ? pass(`${e.key} defaults to ${e.default}`, ev) : fail(`${e.key} defaults to ${e.default}`, ev);
  }
  const ok = satisfies(r.value, e.expect);
  const ev = [{ file: r.file, line: r.line, value: `${e.key} ${r.value}`, expected: `${e.key} ${expected}` }];
  return ok.ok ? pass(`${e.key} = ${r.value}`, ev) : fail(`${e.key} ${ok.why}`, ev);
}

async function systemdConfCheck(g: LinuxGuest, e: Of<'systemd_conf'>): Promise<Verdict> {
  const r = await systemdConf(g, e.file, e.section, e.key);
  const expected = `${e.key}=${describe(e.expect)}`;
  if (!r) {
    if (e.default === undefined) return fail(`${e.key} is not set`, [{ file: `/etc/${e.file}`, value: 'not set', expected }]);
    const ok = satisfies(e.default, e.expect);
    const ev = [{ file: `/etc/${e.file}`, value: `not set (default ${e.default})`, expected }];
    return ok.ok ? pass(`${e.key} defaults to ${e.default}`, ev) : fail(`${e.key} defaults to ${e.default}`, ev);
  }
  const ok = satisfies(r.value, e.expect);
  const ev = [{ file: r.file, line: r.line, value: `${e.key}=${r.value}`, expected }];
  return ok.ok ? pass(`${e.key}=${r.value}`, ev) : fail(`${e.key} ${ok.why}`, ev);
}

async function sysctl(g: LinuxGuest, e: Of<'sysctl'>): Promise<Verdict> {
  const s = await sysctlValue(g, e.key);
  const expected = `${e.key} = ${describe(e.expect)}`;
  if (!s) {
    if (e.kernel_default === undefined) return fail(`${e.key} is not set at boot`, [{ file: '/etc/sysctl.d', value: 'not set', expected }]);
    const ok = satisfies(e.kernel_default, e.expect);
    const ev = [{ file: '/etc/sysctl.d', value: `not set (kernel default ${e.kernel_default})`, expected }];
    return ok.ok ? pass(`${e.key} not set; the kernel default ${e.kernel_default} applies`, ev) : fail(`${e.key} not set; the kernel default is ${e.kernel_default}`, ev);
  }
  const ok = satisfies(s.value, e.expect);
  const ev = [{ file: s.file, line: s.line, value: `${e.key} = ${s.value}`, expected }];
  return ok.ok ? pass(`${e.key} = ${s.value}`, ev) : fail(`${e.key} ${ok.why}`, ev);
}

async function sshd(g: LinuxGuest, e: Of<'sshd'>): Promise<Verdict> {
  const pk = await g.packages();
  const cfg = await sshdEffective(g);
  if (!cfg) {
    if (pk && !pk.has('openssh-server')) return na('openssh-server is not installed');
    return na('/etc/ssh/sshd_config not present', [{ file: '/etc/ssh/sshd_config', value: 'missing' }]);
  }
  const opts = [e.option, ...(e.any_of ?? [])].map((o) => o.toLowerCase());
  const expected = `${e.option} ${describe(e.expect)}`;
  for (const o of opts) {
    const v = cfg.get(o);
    if (!v) continue;
    if (e.any_of && v.default) continue;
    const ok = satisfies(v.value, e.expect);
    const ev: Evidence = v.default ? { file: '/etc/ssh/sshd_config', value: `${o} ${v.value} (sshd default)`, expected } : { file: v.file, line: v.line, value: `${o} ${v.value}`, expected };
    return ok.ok ? pass(`${o} ${v.value}`, [ev]) : fail(`${o} ${ok.why}`, [ev]);
  }
  return fail(`none of ${opts.join(', ')} is set`, [{ file: '/etc/ssh/sshd_config', value: 'not set', expected: opts.join(' or ') + ' set' }]);
}

async function pam(g: LinuxGuest, e: Of<'pam'>): Promise<Verdict> {
  let service: string | undefined;
  let stack: Awaited<ReturnType<typeof pamStack>>;
  for (const s of e.services) {
    stack = await pamStack(g, s);
    if (stack) {
      service = s;
      break;
    }
  }
  if (!stack || !service) return na(`no PAM service ${e.services.join(' / ')}`, [{ file: `/etc/pam.d/${e.services[0]}`, value: 'missing' }]);
  const lines = stack.filter((l) => l.type === e.module_type && l.module === e.module);
  const where = `/etc/pam.d/${service}`;
  if (e.expect === 'absent') {
    return lines.length
      ? fail(`${e.module} is in the ${e.module_type} stack of ${service}`, lines.map((l) => ({ file: l.file, line: l.line, value: `${l.type} ${l.control} ${l.module} ${l.args.join(' ')}`.trim(), expected: `no ${e.module}` })))
      : pass(`${e.module} not in the ${e.module_type} stack of ${service}`, [{ file: where, value: 'absent', expected: `no ${e.module}` }]);
  }
  if (lines.length === 0) return fail(`${e.module} is not in the ${e.module_type} stack of ${service}`, [{ file: where, value: 'absent', expected: `${e.module_type} … ${e.module}` }]);
  const show = (l: (typeof lines)[number]): Evidence => ({ file: l.file, line: l.line, value: `${l.type} ${l.control} ${l.module} ${l.args.join(' ')}`.trim() });
  if (e.arg_absent && e.arg) {
    const bad = lines.filter((l) => l.args.some((a) => a === e.arg || a.startsWith(`${e.arg}=`)));
    return bad.length
      ? fail(`${e.module} has ${e.arg}`, bad.map((l) => ({ ...show(l), expected: `no ${e.arg}` })))
      : pass(`${e.module} without ${e.arg}`, lines.map((l) => ({ ...show(l), expected: `no ${e.arg}` })));
  }
  if (e.arg) {
    for (const l of lines) {
      const a = l.args.find((x) => x === e.arg || x.startsWith(`${e.arg}=`));
      if (!a) continue;
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : 'true';
      if (!e.arg_expect) return pass(`${e.module} ${a}`, [{ ...show(l), expected: e.arg }]);
      const ok = satisfies(v, e.arg_expect);
      const ev = [{ ...show(l), expected: `${e.arg}=${describe(e.arg_expect)}` }];
      return ok.ok ? pass(`${e.module} ${a}`, ev) : fail(`${e.module} ${e.arg} ${ok.why}`, ev);
    }
    return fail(`${e.module} without ${e.arg}`, lines.map((l) => ({ ...show(l), expected: e.arg_expect ? `${e.arg}=${describe(e.arg_expect)}` : e.arg })));
  }
  return pass(`${e.module} in the ${e.module_type} stack`, lines.map(show));
}

async function pkg(g: LinuxGuest, e: Of<'package'>): Promise<Verdict> {
  const have = await g.packages();
  if (!have) return { status: 'error', message: 'the package database could not be read', evidence: [] };
  const present = e.names.filter((n) => have.has(n));
  const db = g.packageFormat === 'rpm' ? '/var/lib/rpm' : '/var/lib/dpkg/status';
  if (e.expect === 'installed') {
    return present.length
      ? pass(`${present.join(', ')} installed`, [{ file: db, value: present.join(', '), expected: `one of ${e.names.join(', ')}` }])
      : fail(`none of ${e.names.join(', ')} installed`, [{ file: db, value: 'not installed', expected: `one of ${e.names.join(', ')}` }]);
  }
  return present.length
    ? fail(`${present.join(', ')} installed`, [{ file: db, value: present.join(', '), expected: 'not installed' }])
    : pass(`${e.names.join(', ')} not installed`, [{ file: db, value: 'not installed', expected: 'not installed' }]);
}

async function unit(g: LinuxGuest, e: Of<'unit'>): Promise<Verdict> {
  const ev: Evidence[] = [];
  let enabled: string | undefined;
  for (const u of e.units) {
    const s = await unitState(g, u);
    if (s.state !== 'not-found' || e.units.length === 1) ev.push({ file: s.via ?? s.file ?? `/etc/systemd/system/${u}`, value: `${u}: ${s.state}` });
    if ((s.state === 'enabled' || s.state === 'generated') && !enabled) enabled = u;
  }
  const expected = e.expect === 'enabled' ? `one of ${e.units.join(', ')} enabled` : 'not enabled';
  for (const x of ev) x.expected = expected;
  if (e.expect === 'enabled') return enabled ? pass(`${enabled} is enabled`, ev) : fail(`none of ${e.units.join(', ')} is enabled`, ev);
  return enabled ? fail(`${enabled} is enabled`, ev) : pass(`${e.units.join(', ')} not enabled`, ev);
}

/** systemd's unit name of a mount point: /var/tmp → var-tmp.mount. */
function mountUnitName(path: string): string {
  const p = path.replace(/^\/+|\/+$/g, '');
  return p === '' ? '-.mount' : `${p.replace(/-/g, '\\x2d').replace(/\//g, '-')}.mount`;
}

async function mount(g: LinuxGuest, e: Of<'mount'>): Promise<Verdict> {
  const fstab = await g.fstab();
  const entry = fstab?.filter((x) => x.file === e.path && x.vfstype !== 'swap').pop();
  let found: { options: string; file: string; line?: number; what: string } | undefined;
  if (entry) found = { options: entry.options, file: '/etc/fstab', line: entry.line, what: `${entry.spec} ${entry.file} ${entry.vfstype} ${entry.options}` };
  else {
    const name = mountUnitName(e.path);
    const st = await unitState(g, name);
    if (st.state === 'enabled' || st.state === 'static') {
      const text = st.file ? await g.text(st.file) : undefined;
      const opts = /^\s*Options\s*=(.*)$/m.exec(text ?? '')?.[1]?.trim() ?? 'defaults';
      found = { options: opts, file: st.file ?? name, what: `${name} (${st.state})` };
    }
  }
  if (e.expect === 'separate') {
    return found ? pass(`${e.path} is mounted separately`, [{ file: found.file, line: found.line, value: found.what, expected: `a mount at ${e.path}` }]) : fail(`${e.path} is not a separate mount`, [{ file: '/etc/fstab', value: `no entry for ${e.path}`, expected: `a mount at ${e.path}` }]);
  }
  if (!found) return na(`${e.path} is not a separate mount`, [{ file: '/etc/fstab', value: `no entry for ${e.path}` }]);
  const opts = found.options.split(',');
  const has = opts.includes(e.option!);
  const ev = [{ file: found.file, line: found.line, value: found.what, expected: `${e.option} in the options` }];
  return has ? pass(`${e.path} mounted with ${e.option}`, ev) : fail(`${e.path} mounted without ${e.option}`, ev);
}

const FALSE_CMDS = new Set(['/bin/false', '/bin/true', '/usr/bin/false', '/usr/bin/true', 'false', 'true']);

async function kernelModule(g: LinuxGuest, e: Of<'kernel_module'>): Promise<Verdict> {
  const m = modName(e.module);
  const cfg = await modprobeConfig(g);
  const inst = cfg.install.get(m);
  const bl = cfg.blacklist.get(m);
  const expected = `install ${e.module} /bin/false (and blacklist ${e.module})`;
  const blEv: Evidence[] = bl ? [{ file: bl.file, line: bl.line, value: `blacklist ${e.module}` }] : [];
  if (inst && FALSE_CMDS.has(inst.command.split(/\s+/)[0]!) && inst.command.split(/\s+/).length === 1) {
    return pass(`modprobe ${e.module} runs ${inst.command}`, [{ file: inst.file, line: inst.line, value: `install ${e.module} ${inst.command}`, expected }, ...blEv]);
  }
  const k = await kernelModules(g);
  if (k.builtin.has(m)) return fail(`${e.module} is built into the kernel`, [{ file: k.builtin.get(m), value: `${e.module} built in`, expected }]);
  if (k.kernels.length > 0 && !k.shipped.has(m)) {
    return pass(`no installed kernel ships ${e.module}`, [{ file: `/lib/modules/{${k.kernels.join(',')}}/modules.dep`, value: `${e.module} not shipped`, expected }, ...blEv]);
  }
  const ev: Evidence[] = [];
  if (inst) ev.push({ file: inst.file, line: inst.line, value: `install ${e.module} ${inst.command}`, expected });
  ev.push(...blEv.map((b) => ({ ...b, expected, note: 'blacklist only stops loading by alias; modprobe still loads it by name' })));
  if (k.shipped.has(m)) ev.push({ file: k.shipped.get(m), value: 'shipped by the kernel' });
  if (!ev.length) ev.push({ file: '/etc/modprobe.d', value: `no rule for ${e.module}`, expected });
  return fail(`${e.module} can be loaded`, ev);
}

function auditField(r: AuditRule, name: string): string | undefined {
  return r.fields.find((f) => f.name === name && f.op === '=')?.value;
}

async function auditRule(g: LinuxGuest, e: Of<'audit_rule'>): Promise<Verdict> {
  const gate = await needs(g, e.requires_package);
  if (gate && gate.status === 'not_applicable') return fail(`auditd is not installed (${gate.message}): no audit rules are loaded`, [{ file: '/etc/audit/rules.d', value: 'auditd not installed' }]);
  if (gate) return gate;
  const { rules, files } = await auditRules(g);
  if (files.length === 0) return fail('no audit rules files', [{ file: '/etc/audit/rules.d', value: 'no *.rules', expected: 'audit rules' }]);
  const exits = rules.filter((r) => r.list === 'exit' && r.action === 'always');
  const show = (r: AuditRule): Evidence => ({ file: r.file, line: r.line, value: r.raw });
  if (e.immutable) {
    const last = [...rules].reverse().find((r) => r.enable !== undefined);
    return last?.enable === '2' ? pass('audit configuration is immutable (-e 2)', [{ ...show(last), expected: '-e 2 last' }]) : fail('audit configuration is not made immutable', [last ? { ...show(last), expected: '-e 2' } : { file: files[files.length - 1], value: 'no -e', expected: '-e 2' }]);
  }
  if (e.watch) {
    const want = e.watch.path.replace(/(.)\/+$/, '$1');
    const hit = rules.find((r) => r.watch === want && [...e.watch!.perms].every((p) => (r.perms ?? 'rwxa').includes(p)));
    const hit2 = hit ?? exits.find((r) => (auditField(r, 'path') === want || auditField(r, 'dir') === want) && [...e.watch!.perms].every((p) => (auditField(r, 'perm') ?? '').includes(p)));
    return hit2 ? pass(`${want} is watched`, [{ ...show(hit2), expected: `-w ${want} -p ${e.watch.perms}` }]) : fail(`${want} is not watched for ${e.watch.perms}`, [{ file: files.join(', '), value: 'no rule', expected: `-w ${want} -p ${e.watch.perms}` }]);
  }
  if (e.exec) {
    const hit = exits.find((r) => auditField(r, 'path') === e.exec && (auditField(r, 'perm') ?? '').includes('x'));
    return hit ? pass(`${e.exec} executions are audited`, [{ ...show(hit), expected: `-F path=${e.exec} -F perm=x` }]) : fail(`${e.exec} executions are not audited`, [{ file: files.join(', '), value: 'no rule', expected: `-a always,exit -F path=${e.exec} -F perm=x` }]);
  }
  if (e.syscalls) {
    const ev: Evidence[] = [];
    const missing: string[] = [];
    for (const arch of e.syscalls.arches) {
      const mine = exits.filter((r) => auditField(r, 'arch') === arch);
      const have = new Set(mine.flatMap((r) => r.syscalls));
      const lack = e.syscalls.names.filter((s) => !have.has(s));
      if (lack.length) missing.push(`${arch}: ${lack.join(',')}`);
      const used = mine.filter((r) => r.syscalls.some((s) => e.syscalls!.names.includes(s)));
      ev.push(...used.slice(0, 4).map(show));
    }
    const expected = `-a always,exit -F arch=${e.syscalls.arches.join('|')} -S ${e.syscalls.names.join(',')}`;
    if (missing.length) return fail(`syscalls not audited: ${missing.join('; ')}`, [...ev, { file: files.join(', '), value: `missing ${missing.join('; ')}`, expected }]);
    return pass(`${e.syscalls.names.join(', ')} audited`, ev.map((x) => ({ ...x, expected })));
  }
  return { status: 'error', message: 'audit_rule evaluator without a rule', evidence: [] };
}

async function account(g: LinuxGuest, e: Of<'account'>): Promise<Verdict> {
  const pw = await g.passwd();
  if (!pw) return { status: 'error', message: '/etc/passwd could not be read', evidence: [{ file: '/etc/passwd', value: 'missing' }] };
  const hits: Evidence[] = [];
  const dups = <T>(items: T[], key: (t: T) => string | number, file: string, line: (t: T) => number, what: string) => {
    const seen = new Map<string | number, T>();
    for (const it of items) {
      const k = key(it);
      const first = seen.get(k);
      if (first !== undefined) hits.push({ file, line: line(it), value: `${what} ${k} again (first on line ${line(first)})`, expected: `unique ${what}` });
      else seen.set(k, it);
    }
  };
  switch (e.property) {
    case 'no_empty_password': {
      const sh = await g.shadow();
      for (const u of pw) if (u.password === '') hits.push({ file: '/etc/passwd', line: u.line, value: `${u.name}: empty password field`, expected: 'x (password in shadow)' });
      for (const s of sh ?? []) if (s.hash === '') hits.push({ file: '/etc/shadow', line: s.line, value: `${s.name}: empty password`, expected: 'a hash or a lock (! or *)' });
      if (!sh) return { status: 'error', message: '/etc/shadow could not be read', evidence: [{ file: '/etc/shadow', value: 'missing' }] };
      break;
    }
    case 'only_root_uid0':
      for (const u of pw) if (u.uid === 0 && u.name !== 'root') hits.push({ file: '/etc/passwd', line: u.line, value: `${u.name}: uid 0`, expected: 'only root has uid 0' });
      break;
    case 'root_gid0': {
      const root = pw.find((u) => u.name === 'root');
      if (root && root.gid !== 0) hits.push({ file: '/etc/passwd', line: root.line, value: `root: gid ${root.gid}`, expected: 'gid 0' });
      break;
    }
    case 'only_root_gid0_group':
      for (const gr of (await g.group()) ?? []) if (gr.gid === 0 && gr.name !== 'root') hits.push({ file: '/etc/group', line: gr.line, value: `${gr.name}: gid 0`, expected: 'only root has gid 0' });
      break;
    case 'unique_uids':
      dups(pw, (u) => u.uid, '/etc/passwd', (u) => u.line, 'uid');
      break;
    case 'unique_user_names':
      dups(pw, (u) => u.name, '/etc/passwd', (u) => u.line, 'user');
      break;
    case 'unique_gids':
      dups((await g.group()) ?? [], (x) => x.gid, '/etc/group', (x) => x.line, 'gid');
      break;
    case 'unique_group_names':
      dups((await g.group()) ?? [], (x) => x.name, '/etc/group', (x) => x.line, 'group');
      break;
    case 'passwd_gids_exist': {
      const gids = new Set(((await g.group()) ?? []).map((x) => x.gid));
      for (const u of pw) if (!gids.has(u.gid)) hits.push({ file: '/etc/passwd', line: u.line, value: `${u.name}: gid ${u.gid}`, expected: 'a group in /etc/group' });
      break;
    }
    case 'shadow_group_empty': {
      const gr = (await g.group())?.find((x) => x.name === 'shadow');
      if (!gr) return na('no shadow group');
      if (gr.members.length) hits.push({ file: '/etc/group', line: gr.line, value: `shadow members: ${gr.members.join(',')}`, expected: 'no members' });
      for (const u of pw) if (u.gid === gr.gid) hits.push({ file: '/etc/passwd', line: u.line, value: `${u.name}: primary group shadow`, expected: 'no members' });
      break;
    }
    case 'all_shadowed':
      for (const u of pw) if (u.password !== 'x') hits.push({ file: '/etc/passwd', line: u.line, value: `${u.name}: password field not x`, expected: 'x' });
      break;
    case 'system_accounts_nologin': {
      const defs = await keyValue(g, { path: '/etc/login.defs', syntax: 'space', key: 'UID_MIN' });
      const uidMin = Number(defs?.value ?? 1000);
      const ok = /(?:^|\/)(nologin|false|sync|shutdown|halt)$/;
      for (const u of pw) {
        if (u.uid === 0 || u.uid >= uidMin || u.name === 'root') continue;
        if (u.uid === 65534) continue;
        if (!ok.test(u.shell)) hits.push({ file: '/etc/passwd', line: u.line, value: `${u.name} (uid ${u.uid}): ${u.shell}`, expected: 'nologin or false' });
      }
      break;
    }
  }
  return hits.length ? fail(`${hits.length} finding(s)`, hits) : pass('no account with that property', [{ file: e.property.includes('group') ? '/etc/group' : '/etc/passwd', value: `${pw.length} accounts examined` }]);
}

async function sudoers(g: LinuxGuest, e: Of<'sudoers'>): Promise<Verdict> {
  const gate = await needs(g, e.requires_package);
  if (gate) return gate;
  const lines = await sudoersLines(g);
  if (!lines) return na('/etc/sudoers not present', [{ file: '/etc/sudoers', value: 'missing' }]);
  const defs = sudoDefaults(lines);
  const show = (l: { file: string; line: number; text: string }, expected: string): Evidence => ({ file: l.file, line: l.line, value: l.text, expected });
  switch (e.rule) {
    case 'no_nopasswd': {
      const bad = lines.filter((l) => !/^Defaults/.test(l.text) && !/^\w+_Alias\s/.test(l.text) && /(^|[\s,:=(])NOPASSWD:/.test(l.text));
      return bad.length ? fail(`${bad.length} rule(s) without a password`, bad.map((l) => show(l, 'no NOPASSWD'))) : pass('every sudo rule asks for a password', [{ file: '/etc/sudoers', value: `${lines.length} lines read`, expected: 'no NOPASSWD' }]);
    }
    case 'no_authenticate_off': {
      const bad = defs.filter((d) => d.param === '!authenticate');
      return bad.length ? fail('authentication switched off', bad.map((d) => show(d.at, 'no !authenticate'))) : pass('authentication not switched off', [{ file: '/etc/sudoers', value: 'no !authenticate', expected: 'no !authenticate' }]);
    }
    case 'use_pty':
    case 'logfile': {
      const name = e.rule;
      const global = defs.filter((d) => d.scope === '' && (d.param === name || d.param.startsWith(`${name}=`) || d.param === `!${name}`));
      const last = global.pop();
      const on = last && !last.param.startsWith('!');
      return on ? pass(`Defaults ${last.param}`, [show(last.at, `Defaults ${name}`)]) : fail(`Defaults ${name} not set`, [last ? show(last.at, `Defaults ${name}`) : { file: '/etc/sudoers', value: 'not set', expected: `Defaults ${name}` }]);
    }
    case 'timestamp_timeout': {
      const t = defs.filter((d) => d.param.startsWith('timestamp_timeout='));
      const bad = t.filter((d) => Number(d.param.split('=')[1]) < 0 || Number(d.param.split('=')[1]) > 15);
      if (bad.length) return fail('credentials cached too long', bad.map((d) => show(d.at, 'timestamp_timeout 0..15')));
      return pass(t.length ? t.map((d) => d.param).join(', ') : 'timestamp_timeout not set (sudo default 15 minutes)', t.length ? t.map((d) => show(d.at, 'timestamp_timeout 0..15')) : [{ file: '/etc/sudoers', value: 'not set (default 15)', expected: 'timestamp_timeout 0..15' }]);
    }
  }
}

/** Kernel command lines of every boot entry in grub.cfg (each `linux` line), else /etc/default/grub's. */
export async function kernelCmdlines(g: LinuxGuest): Promise<{ file: string; line: number; args: string[] }[]> {
  return g.once('cmdlines', async () => {
    for (const f of ['/boot/grub/grub.cfg', '/boot/grub2/grub.cfg']) {
      const lines = await g.lines(f);
      if (!lines) continue;
      const out: { file: string; line: number; args: string[] }[] = [];
      lines.forEach((l, i) => {
        const m = /^\s*(?:linux|linux16|linuxefi)\s+(\S+)\s*(.*)$/.exec(l);
        if (m) out.push({ file: f, line: i + 1, args: m[2]!.split(/\s+/).filter(Boolean) });
      });
      if (out.length) return out;
    }
    const out: { file: string; line: number; args: string[] }[] = [];
    const files = ['/etc/default/grub', ...(await g.glob('/etc/default/grub.d/*.cfg'))];
    let args: string[] = [];
    let at = { file: '/etc/default/grub', line: 0 };
    const vars = new Map<string, string>();
    for (const f of files) {
      (await g.lines(f))?.forEach((l, i) => {
        const m = /^\s*(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)=(["']?)(.*)\2\s*$/.exec(l);
        if (m) {
          vars.set(m[1]!, m[3]!.replace(/\$\{?(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)\}?/g, (_s, v: string) => vars.get(v) ?? ''));
          at = { file: f, line: i + 1 };
        }
      });
    }
    args = `${vars.get('GRUB_CMDLINE_LINUX') ?? ''} ${vars.get('GRUB_CMDLINE_LINUX_DEFAULT') ?? ''}`.split(/\s+/).filter(Boolean);
    if (vars.size) out.push({ ...at, args });
    return out;
  });
}

async function kernelCmdline(g: LinuxGuest, e: Of<'kernel_cmdline'>): Promise<Verdict> {
  const entries = await kernelCmdlines(g);
  if (entries.length === 0) return na('no boot loader configuration with a kernel command line', [{ file: '/boot/grub/grub.cfg', value: 'missing' }]);
  const expected = `${e.arg}=${describe(e.expect)}`;
  const ev: Evidence[] = [];
  let bad = 0;
  for (const en of entries) {
    // the kernel takes the last occurrence of a parameter
    const a = en.args.filter((x) => x === e.arg || x.startsWith(`${e.arg}=`)).pop();
    const v = a === undefined ? undefined : a.includes('=') ? a.slice(a.indexOf('=') + 1) : '';
    const ok = v !== undefined && satisfies(v, e.expect).ok;
    if (!ok) bad++;
    ev.push({ file: en.file, line: en.line, value: a ?? `no ${e.arg}`, expected });
  }
  return bad ? fail(`${bad} of ${entries.length} boot entries without ${expected}`, ev) : pass(`every boot entry has ${expected}`, ev);
}

async function grubPassword(g: LinuxGuest): Promise<Verdict> {
  for (const f of ['/boot/grub/grub.cfg', '/boot/grub2/grub.cfg', '/boot/grub2/user.cfg']) {
    const lines = await g.lines(f);
    if (!lines) continue;
    const su = lines.findIndex((l) => /^\s*set\s+superusers=/.test(l));
    const pw = lines.findIndex((l) => /^\s*(password_pbkdf2|password)\s+\S+\s+\S+/.test(l) || /^\s*GRUB2_PASSWORD=grub\.pbkdf2/.test(l));
    if (f.endsWith('user.cfg') && pw >= 0) return pass('boot loader password set', [{ file: f, line: pw + 1, value: 'GRUB2_PASSWORD set' }]);
    if (su >= 0 && pw >= 0) return pass('boot loader superuser with a password', [{ file: f, line: su + 1, value: lines[su]!.trim() }, { file: f, line: pw + 1, value: lines[pw]!.trim().replace(/(grub\.pbkdf2\.\S{0,24})\S*/, '$1…') }]);
    if (!f.endsWith('user.cfg')) return fail('no boot loader password', [{ file: f, value: su >= 0 ? 'superusers without a password' : 'no set superusers', expected: 'set superusers= and password_pbkdf2' }]);
  }
  return na('no grub configuration found', [{ file: '/boot/grub/grub.cfg', value: 'missing' }]);
}

async function inetd(g: LinuxGuest, e: Of<'inetd_service'>): Promise<Verdict> {
  const files = ['/etc/inetd.conf', ...(await g.glob('/etc/inetd.d/*'))];
  const hits: Evidence[] = [];
  let read = false;
  for (const f of files) {
    const lines = await g.lines(f);
    if (!lines) continue;
    read = true;
    lines.forEach((l, i) => {
      const t = l.trim();
      if (t === '' || t.startsWith('#')) return;
      const svc = t.split(/\s+/)[0]!.replace(/^[^:]*:/, '');
      if (e.services.includes(svc)) hits.push({ file: f, line: i + 1, value: t, expected: `no ${svc} service` });
    });
  }
  // xinetd: service blocks with disable = no
  for (const f of ['/etc/xinetd.conf', ...(await g.glob('/etc/xinetd.d/*'))]) {
    const text = await g.text(f);
    if (!text) continue;
    read = true;
    const re = /^\s*service\s+(\S+)\s*\{([^}]*)\}/gm;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (!e.services.includes(m[1]!)) continue;
      if (/^\s*disable\s*=\s*yes\s*$/m.test(m[2]!)) continue;
      hits.push({ file: f, line: text.slice(0, m.index).split('\n').length, value: `service ${m[1]} (not disabled)`, expected: `no ${m[1]} service` });
    }
  }
  if (!read) return pass('no inetd or xinetd configuration', [{ file: '/etc/inetd.conf', value: 'missing' }]);
  return hits.length ? fail(`${hits.length} inetd service(s) enabled`, hits) : pass(`${e.services.join(', ')} not served by inetd`, [{ file: '/etc/inetd.conf', value: 'commented out or absent' }]);
}

async function firewall(g: LinuxGuest): Promise<Verdict> {
  const units = ['nftables.service', 'ufw.service', 'firewalld.service', 'netfilter-persistent.service', 'iptables.service', 'ip6tables.service'];
  const ev: Evidence[] = [];
  for (const u of units) {
    const s = await unitState(g, u);
    if (s.state === 'not-found') continue;
    ev.push({ file: s.via ?? s.file, value: `${u}: ${s.state}`, expected: 'a firewall enabled at boot' });
    if (s.state !== 'enabled' && s.state !== 'generated') continue;
    if (u === 'ufw.service') {
      const en = await keyValue(g, { path: '/etc/ufw/ufw.conf', syntax: 'shell', key: 'ENABLED' });
      if (en?.value.toLowerCase() !== 'yes') {
        ev.push({ file: '/etc/ufw/ufw.conf', line: en?.line, value: `ENABLED=${en?.value ?? '(unset)'}`, expected: 'ENABLED=yes' });
        continue;
      }
    }
    return pass(`${u} starts at boot`, ev);
  }
  if (!ev.length) ev.push({ file: '/etc/systemd/system', value: 'no firewall unit installed', expected: 'a firewall enabled at boot' });
  return fail('no host firewall starts at boot', ev);
}

async function limits(g: LinuxGuest, e: Of<'limits'>): Promise<Verdict> {
  const files = ['/etc/security/limits.conf', ...(await g.glob('/etc/security/limits.d/*.conf'))];
  let found: Evidence | undefined;
  let value: string | undefined;
  for (const f of files) {
    (await g.lines(f))?.forEach((l, i) => {
      const t = l.replace(/#.*$/, '').trim().split(/\s+/);
      if (t.length < 4 || t[0] !== e.domain || t[2] !== e.item) return;
      // `-` sets both soft and hard
      if (t[1] !== e.limit_type && t[1] !== '-') return;
      value = t[3];
      found = { file: f, line: i + 1, value: t.join(' ') };
    });
  }
  const expected = `${e.domain} ${e.limit_type} ${e.item} ${describe(e.expect)}`;
  if (!found || value === undefined) return fail(`no ${e.limit_type} ${e.item} limit for ${e.domain}`, [{ file: '/etc/security/limits.conf', value: 'not set', expected }]);
  const ok = satisfies(value, e.expect);
  return ok.ok ? pass(`${e.domain} ${e.limit_type} ${e.item} ${value}`, [{ ...found, expected }]) : fail(`${e.item} ${ok.why}`, [{ ...found, expected }]);
}

export async function evaluateLinux(g: LinuxGuest, e: Evaluator): Promise<Verdict> {
  switch (e.type) {
    case 'file_mode':
      return fileMode(g, e);
    case 'file_tree':
      return fileTree(g, e);
    case 'file_text':
      return fileText(g, e);
    case 'file_exists': {
      const st = await g.stat(e.path);
      const ev = [{ file: e.path, value: st ? 'present' : 'absent', expected: e.expect }];
      return (st !== undefined) === (e.expect === 'present') ? pass(`${e.path} ${e.expect}`, ev) : fail(`${e.path} ${st ? 'present' : 'absent'}`, ev);
    }
    case 'key_value':
      return keyValueCheck(g, e);
    case 'systemd_conf':
      return systemdConfCheck(g, e);
    case 'sysctl':
      return sysctl(g, e);
    case 'sshd':
      return sshd(g, e);
    case 'pam':
      return pam(g, e);
    case 'package':
      return pkg(g, e);
    case 'unit':
      return unit(g, e);
    case 'mount':
      return mount(g, e);
    case 'kernel_module':
      return kernelModule(g, e);
    case 'audit_rule':
      return auditRule(g, e);
    case 'account':
      return account(g, e);
    case 'sudoers':
      return sudoers(g, e);
    case 'kernel_cmdline':
      return kernelCmdline(g, e);
    case 'limits':
      return limits(g, e);
    case 'swap': {
      const sw = (await g.fstab())?.filter((x) => x.vfstype === 'swap') ?? [];
      return sw.length ? pass(`${sw.length} swap entr${sw.length > 1 ? 'ies' : 'y'} in fstab`, sw.map((x) => ({ file: '/etc/fstab', line: x.line, value: `${x.spec} swap ${x.options}`, expected: 'swap configured' }))) : fail('no swap in fstab', [{ file: '/etc/fstab', value: 'no swap entry', expected: 'swap configured' }]);
    }
    case 'grub_password':
      return grubPassword(g);
    case 'inetd_service':
      return inetd(g, e);
    case 'firewall':
      return firewall(g);
    default:
      return { status: 'not_applicable', message: `${e.type} does not apply to Linux guests`, evidence: [] };
  }
}
