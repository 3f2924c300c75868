/** Small text parsers shared by the collectors. */

/** Lines without comments (#) and blanks, trimmed. */
export function contentLines(text: string, comment = '#'): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith(comment)) continue;
    out.push(line);
  }
  return out;
}

/** Shell-style unquoting as os-release(5) describes: '…', "…" with \-escapes. */
export function shellUnquote(v: string): string {
  v = v.trim();
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    return v.slice(1, -1).replace(/\\([\\$"`])/g, '$1');
  }
  return v;
}

/** KEY=value files (os-release, lsb-release, sysconfig). Later keys win. */
export function parseKeyValue(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of contentLines(text)) {
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m) out.set(m[1]!, shellUnquote(/^["']/.test(m[2]!) ? m[2]! : stripComment(m[2]!)));
  }
  return out;
}

/**
 * An unquoted value without its trailing ` # comment` (the whitespace before the first `#` that
 * follows whitespace, and all after it). A scan, not /\s+#.*$/: that regex retries every start
 * in a run of blanks, quadratic in it (49 s for one value with 160,000 spaces).
 */
function stripComment(v: string): string {
  for (let i = v.indexOf('#'); i > 0; i = v.indexOf('#', i + 1)) {
    if (/\s/.test(v[i - 1]!)) return v.slice(0, i).trimEnd();
  }
  return v;
}

/** "12.7" → [12, 7]; "9" → [9, 0]; garbage → undefined. */
export function parseMajorMinor(s: string): [number, number] | undefined {
  const m = /(\d+)(?:\.(\d+))?/.exec(s);
  if (!m) return undefined;
  return [Number(m[1]), m[2] === undefined ? 0 : Number(m[2])];
}

/** `key value` / `key=value` config (sshd_config style); first occurrence wins as sshd does. */
export function parseDirectives(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of contentLines(text)) {
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) continue;
    const k = m[1]!.toLowerCase();
    if (!out.has(k)) out.set(k, m[2]!.trim());
  }
  return out;
}

/** INI sections (NetworkManager keyfiles, systemd units): section → key → value. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur = new Map<string, string>();
  out.set('', cur);
  for (const line of contentLines(text.replace(/^;.*$/gm, ''))) {
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      cur = out.get(sec[1]!) ?? new Map();
      out.set(sec[1]!, cur);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) cur.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

/**
 * Shell-style glob match of one path component (`*`, `?`; no classes), in O(name × pattern)
 * time: a regex built from a hostile pattern like `*a*a*a…b` would backtrack exponentially.
 */
export function globMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
