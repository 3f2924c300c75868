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
  const uidMin = Number(/^\s*UID_MIN\s+(\d+)/m.exec(loginDefs)?.[1] ?? 1000);
  const users: UserInfo[] = [];
  for (const l of contentLines(passwd)) {
    const f = l.split(':');
    if (f.length < 7 || f[0]!.startsWith('+') || f[0]!.startsWith('-')) continue;
    const [name, pw, uid, gid, gecos, home, shell] = f as [string, string, string, string, string, string, string];
    const pwState = shadowText !== undefined && pw === 'x' ? passwordState(shadow.get(name)) : pw === 'x' ? 'unknown' : passwordState(pw);
    const primary = groups.find((gr) => gr.gid === Number(gid));
    const member = groups.filter((gr) => gr.members.includes(name)).map((gr) => gr.name);
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

/**
 * Users and %groups granted rights in sudoers (and its include dirs), groups expanded to
 * their members: listed ones and, as sudo matches them too, those whose primary group it is.
 */
async function detectSudoers(g: GuestView, groups: GroupInfo[], users: UserInfo[]): Promise<string[]> {
  const files = ['/etc/sudoers'];
  const seen = new Set<string>();
  const who = new Set<string>();
  while (files.length && seen.size < 200) {
    const f = files.shift()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const text = await g.text(f);
    if (!text) continue;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      const inc = /^[#@]include(dir)?\s+(\S+)/.exec(line);
      if (inc) {
        if (inc[1]) for (const n of await g.list(inc[2]!)) if (!n.includes('.') && !n.endsWith('~')) files.push(`${inc[2]}/${n}`);
        if (!inc[1]) files.push(inc[2]!);
        continue;
      }
      if (line === '' || line.startsWith('#') || /^Defaults/.test(line) || /_Alias\s/.test(line)) continue;
      const m = /^(\S+)\s+\S+\s*=/.exec(line);
      if (m) who.add(m[1]!);
    }
  }
  const out = new Set<string>();
  for (const w of who) {
    out.add(w);
    if (!w.startsWith('%')) continue;
    const group = groups.find((gr) => gr.name === w.slice(1));
    for (const m of group?.members ?? []) out.add(m);
    if (group) for (const u of users) if (u.gid === group.gid) out.add(u.name);
  }
  return [...out].sort();
}
