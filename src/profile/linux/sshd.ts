import { globMatch } from '../../inspect/parse.js';
import type { LinuxGuest } from './guest.js';

/** One option as sshd resolved it: where it was set, or the compiled-in default. */
export interface SshdValue {
  value: string;
  file?: string;
  line?: number;
  default?: boolean;
}

/**
 * OpenSSH 9.x compiled-in defaults for the options the catalogue judges (`sshd -T` with an empty
 * config prints these). Lists are the defaults of OpenSSH 9.2 (Debian 12) and 9.6 (Ubuntu 24.04).
 */
const DEFAULTS: Record<string, string> = {
  port: '22',
  permitrootlogin: 'prohibit-password',
  passwordauthentication: 'yes',
  permitemptypasswords: 'no',
  pubkeyauthentication: 'yes',
  hostbasedauthentication: 'no',
  ignorerhosts: 'yes',
  permituserenvironment: 'no',
  x11forwarding: 'no',
  allowtcpforwarding: 'yes',
  allowagentforwarding: 'yes',
  disableforwarding: 'no',
  maxauthtries: '6',
  logingracetime: '120',
  loglevel: 'INFO',
  clientaliveinterval: '0',
  clientalivecountmax: '3',
  maxstartups: '10:30:100',
  maxsessions: '10',
  gssapiauthentication: 'no',
  kerberosauthentication: 'no',
  kbdinteractiveauthentication: 'yes',
  usepam: 'no',
  banner: 'none',
  printlastlog: 'yes',
  strictmodes: 'yes',
  compression: 'yes',
  ciphers: 'chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com',
  macs: 'umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1',
  kexalgorithms:
    'sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256',
};

/** Options whose every occurrence adds to the value instead of the first one winning. */
const ACCUMULATE = new Set(['allowusers', 'denyusers', 'allowgroups', 'denygroups', 'port', 'listenaddress', 'hostkey', 'acceptenv', 'subsystem']);
/** Options that take a time (`1m30s`): sshd -T prints them in seconds. */
const TIMES = new Set(['logingracetime', 'clientaliveinterval', 'rekeylimit']);
/** Algorithm lists: `+x` appends to, `-x` removes from and `^x` puts in front of the default. */
const ALGORITHMS = new Set(['ciphers', 'macs', 'kexalgorithms', 'hostkeyalgorithms', 'pubkeyacceptedalgorithms', 'casignaturealgorithms']);

const MAX_INCLUDE_DEPTH = 16;

/** `1m30s` → 90; undefined when it is not a time. */
export function sshTime(v: string): number | undefined {
  if (/^\d+$/.test(v)) return Number(v);
  const re = /(\d+)([sSmMhHdDwW])/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    const mult = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]!.toLowerCase() as 's']!;
    total += Number(m[1]) * mult;
    consumed += m[0].length;
  }
  return consumed === v.length && consumed > 0 ? total : undefined;
}

/** Splits a config line as sshd does: `Keyword args`, `Keyword=args`, a `#` token starts a comment. */
export function sshdTokens(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  const s = line.trim();
  // Keyword=value: the first '=' (with optional spaces around it) separates keyword and value.
  const kv = /^([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)$/.exec(s);
  const text = kv ? `${kv[1]} ${kv[2]}` : s;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    if (text[i] === '#') break;
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      const tok = end < 0 ? text.slice(i + 1) : text.slice(i + 1, end);
      out.push(tok);
      i = end < 0 ? text.length : end + 1;
      continue;
    }
    let j = i;
    while (j < text.length && !/\s/.test(text[j]!)) j++;
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

function applyAlgorithmList(def: string, v: string): string {
  const base = def.split(',');
  if (v.startsWith('+')) return [...base, ...v.slice(1).split(',').filter((x) => !base.includes(x))].join(',');
  if (v.startsWith('-')) {
    const pats = v.slice(1).split(',');
    return base.filter((a) => !pats.some((p) => globMatch(p, a))).join(',');
  }
  if (v.startsWith('^')) {
    const front = v.slice(1).split(',');
    return [...front, ...base.filter((a) => !front.includes(a))].join(',');
  }
  return v;
}

/**
 * sshd's global configuration as `sshd -T` (without -C) would print it: sshd_config with its
 * Include files read in place (globs sorted, paths relative to /etc/ssh), Match blocks skipped
 * (a Match block ends at the end of the file that opened it, or at `Match all`), the first value
 * of each option kept, defaults for what is unset. Undefined when sshd_config is missing.
 */
export function sshdEffective(g: LinuxGuest): Promise<Map<string, SshdValue> | undefined> {
  // one parse per guest: every sshd check reads from it (none changes it)
  return g.once('sshd', () => readSshd(g));
}

async function readSshd(g: LinuxGuest): Promise<Map<string, SshdValue> | undefined> {
  const main = await g.text('/etc/ssh/sshd_config');
  if (main === undefined) return undefined;
  const out = new Map<string, SshdValue>();
  const visit = async (file: string, text: string, depth: number, active: boolean): Promise<void> => {
    let on = active;
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const tok = sshdTokens(lines[i]!);
      if (tok.length === 0) continue;
      const key = tok[0]!.toLowerCase();
      if (key === 'match') {
        // `Match all` returns to the global section; any other criteria apply to some connections only.
        on = active && tok.length === 2 && tok[1]!.toLowerCase() === 'all';
        continue;
      }
      if (key === 'include') {
        if (depth >= MAX_INCLUDE_DEPTH) {
          g.warn(`${file}:${i + 1}: Include nested deeper than ${MAX_INCLUDE_DEPTH}`);
          continue;
        }
        for (const pat of tok.slice(1)) {
          const abs = pat.startsWith('/') ? pat : `/etc/ssh/${pat}`;
          for (const f of await g.glob(abs)) {
            const t = await g.text(f);
            if (t !== undefined) await visit(f, t, depth + 1, on);
          }
        }
        continue;
      }
      if (!on || tok.length < 2) continue;
      const value = tok.slice(1).join(' ');
      const prev = out.get(key);
      if (prev && ACCUMULATE.has(key)) {
        prev.value = `${prev.value} ${value}`;
        continue;
      }
      if (prev) continue;
      out.set(key, { value, file, line: i + 1 });
    }
  };
  await visit('/etc/ssh/sshd_config', main, 0, true);
  for (const [k, v] of out) {
    if (TIMES.has(k)) {
      const t = sshTime(v.value);
      if (t !== undefined) v.value = String(t);
    }
    if (ALGORITHMS.has(k) && DEFAULTS[k] && /^[+\-^]/.test(v.value)) v.value = applyAlgorithmList(DEFAULTS[k]!, v.value);
    if (k === 'permitrootlogin' && v.value.toLowerCase() === 'without-password') v.value = 'prohibit-password';
    // sshd -T prints QUIET as SILENT, and a single MaxStartups number N as N:30:N (the rate keeps its default)
    if (k === 'loglevel' && v.value.toUpperCase() === 'QUIET') v.value = 'SILENT';
    if (k === 'maxstartups' && /^\d+$/.test(v.value)) v.value = `${v.value}:30:${v.value}`;
  }
  for (const [k, v] of Object.entries(DEFAULTS)) if (!out.has(k)) out.set(k, { value: v, default: true });
  return out;
}
