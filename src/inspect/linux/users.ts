import type { GuestView } from '../guest-view.js';
import type { GroupInfo, UserInfo } from '../types.js';
import { contentLines } from '../parse.js';

const NOLOGIN = /(?:^|\/)(nologin|false|sync|shutdown|halt)$/;

/** Password state from a shadow field, never the hash itself. */
export function passwordState(field: string | undefined): UserInfo['password'] {
  if (field === undefined) return 'unknown';
  if (field === '') return 'empty';
  if (field.startsWith('!') || field.startsWith('*') || field === 'x') return 'locked';
  return 'set';
}

export interface UserFacts {
  users: UserInfo[];
  groups: GroupInfo[];
  sudoers: string[];
}

/** Users and groups from passwd/shadow/group, and who may use sudo. */
export async function detectUsers(g: GuestView): Promise<UserFacts> {
  const passwd = (await g.text('/etc/passwd')) ?? '';
  const shadowText = await g.text('/etc/shadow');
  const shadow = new Map<string, string>();
  for (const l of contentLines(shadowText ?? '')) {
    const f = l.split(':');
    if (f.length >= 2) shadow.set(f[0]!, f[1]!);
  }
  const groups: GroupInfo[] = [];
  for (const l of contentLines((await g.text('/etc/group')) ?? '')) {
    const f = l.split(':');
    if (f.length < 3) continue;
    groups.push({ name: f[0]!, gid: Number(f[2]) || 0, members: f[3] ? f[3].split(',').filter(Boolean) : [] });
  }
  const loginDefs = (await g.text('/etc/login.defs')) ?? '';
  const uidMin = Number(/^[ \t]*UID_MIN[ \t]+(\d+)/m.exec(loginDefs)?.[1] ?? 1000);
  // Indexes, so a guest with many users and groups costs linear, not quadratic, time.
  const byGid = new Map<number, GroupInfo>();
  const memberOf = new Map<string, string[]>();
  for (const gr of groups) {
    if (!byGid.has(gr.gid)) byGid.set(gr.gid, gr);
    for (const m of new Set(gr.members)) {
      const list = memberOf.get(m);
      if (list) list.push(gr.name);
      else memberOf.set(m, [gr.name]);
    }
  }
  const users: UserInfo[] = [];
  for (const l of contentLines(passwd)) {
    const f = l.split(':');
    if (f.length < 7 || f[0]!.startsWith('+') || f[0]!.startsWith('-')) continue;
    const [name, pw, uid, gid, gecos, home, shell] = f as [string, string, string, string, string, string, string];
    const pwState = shadowText !== undefined && pw === 'x' ? passwordState(shadow.get(name)) : pw === 'x' ? 'unknown' : passwordState(pw);
    const primary = byGid.get(Number(gid));
    const member = memberOf.get(name) ?? [];
    users.push({
      name,
      uid: Number(uid),
      gid: Number(gid),
      gecos,
      home,
      shell,
      login_allowed: shell !== '' && !NOLOGIN.test(shell) && pwState !== 'locked',
      password: pwState,
      system: Number(uid) !== 0 && Number(uid) < uidMin,
      groups: [...(primary ? [primary.name] : []), ...member.filter((n) => n !== primary?.name)],
    });
  }
  return { users, groups, sudoers: await detectSudoers(g, groups, users) };
}

/** sudoers files read at most (the main file, its includes and include dirs). */
const MAX_SUDOERS_FILES = 200;

/**
 * Users and %groups granted rights in sudoers (and its include dirs), groups expanded to
 * their members: listed ones and, as sudo matches them too, those whose primary group it is.
 * Each file and directory is read once, however often it is included.
 */
async function detectSudoers(g: GuestView, groups: GroupInfo[], users: UserInfo[]): Promise<string[]> {
  const files = ['/etc/sudoers'];
  const queued = new Set(files);
  const listed = new Set<string>();
  const who = new Set<string>();
  const enqueue = (f: string) => {
    if (queued.size >= MAX_SUDOERS_FILES || queued.has(f)) return;
    queued.add(f);
    files.push(f);
  };
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const text = await g.text(f);
    if (!text) continue;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      const inc = /^[#@]include(dir)?\s+(\S+)/.exec(line);
      if (inc) {
        // sudo 1.9.1+: a relative path is relative to the including file's directory.
        const target = inc[2]!.startsWith('/') ? inc[2]! : `${f.replace(/\/[^/]*$/, '')}/${inc[2]}`;
        if (!inc[1]) enqueue(target);
        else if (!listed.has(target)) {
          listed.add(target);
          for (const n of await g.list(target)) if (!n.includes('.') && !n.endsWith('~')) enqueue(`${target}/${n}`);
        }
        continue;
      }
      if (line === '' || line.startsWith('#') || /^Defaults/.test(line) || /_Alias\s/.test(line)) continue;
      const m = /^(\S+)\s+\S+\s*=/.exec(line);
      if (m) who.add(m[1]!);
    }
  }
  if (queued.size >= MAX_SUDOERS_FILES) g.warn(`sudoers: more than ${MAX_SUDOERS_FILES} files included; the rest were not read`);
  const groupByName = new Map<string, GroupInfo>();
  for (const gr of groups) if (!groupByName.has(gr.name)) groupByName.set(gr.name, gr);
  const usersByGid = new Map<number, string[]>();
  for (const u of users) {
    const list = usersByGid.get(u.gid);
    if (list) list.push(u.name);
    else usersByGid.set(u.gid, [u.name]);
  }
  const out = new Set<string>();
  for (const w of who) {
    out.add(w);
    if (!w.startsWith('%')) continue;
    const group = groupByName.get(w.slice(1));
    if (!group) continue;
    for (const m of group.members) out.add(m);
    for (const u of usersByGid.get(group.gid) ?? []) out.add(u);
  }
  return [...out].sort();
}
