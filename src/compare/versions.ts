/**
 * Package version ordering as the package managers define it: dpkg's (Debian Policy 5.6.12,
 * `dpkg --compare-versions`) and rpm's (`rpmvercmp`). Used to say whether a changed package was
 * upgraded or downgraded; an unknown package format gives no direction.
 */

export interface PkgVersion {
  epoch: number;
  version: string;
  release: string;
}

/** The version as its package manager prints it: `[epoch:]version[-release]`. */
export function formatVersion(v: PkgVersion): string {
  return `${v.epoch ? `${v.epoch}:` : ''}${v.version}${v.release ? `-${v.release}` : ''}`;
}

/** dpkg's character order: `~` before everything (even the end), letters before non-letters. */
function dpkgOrder(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[0-9]/.test(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp over one part (upstream version or revision). */
export function dpkgPartCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !/[0-9]/.test(a[i]!)) || (j < b.length && !/[0-9]/.test(b[j]!))) {
      const ac = dpkgOrder(i < a.length && !/[0-9]/.test(a[i]!) ? a[i] : undefined);
      const bc = dpkgOrder(j < b.length && !/[0-9]/.test(b[j]!) ? b[j] : undefined);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && /[0-9]/.test(a[i]!) && j < b.length && /[0-9]/.test(b[j]!)) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /[0-9]/.test(a[i]!)) return 1;
    if (j < b.length && /[0-9]/.test(b[j]!)) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** rpmvercmp over one part (version or release). */
export function rpmPartCompare(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const isAlnum = (c: string | undefined) => c !== undefined && /[A-Za-z0-9]/.test(c);
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    // tilde sorts before everything, caret after the end but before anything else
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < a.length && j < b.length)) break;
    const numeric = /[0-9]/.test(a[i]!);
    const re = numeric ? /[0-9]/ : /[A-Za-z]/;
    let ei = i;
    let ej = j;
    while (ei < a.length && re.test(a[ei]!)) ei++;
    while (ej < b.length && re.test(b[ej]!)) ej++;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (sb.length === 0) return numeric ? 1 : -1; // numeric segments are newer than alpha ones
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** <0, 0, >0 as `a` is older, equal or newer than `b`; undefined for a format with no known order. */
export function compareVersions(a: PkgVersion, b: PkgVersion, format: string | undefined): number | undefined {
  const part = format === 'deb' ? dpkgPartCompare : format === 'rpm' ? rpmPartCompare : undefined;
  if (!part) return undefined;
  if (a.epoch !== b.epoch) return a.epoch - b.epoch;
  return part(a.version, b.version) || part(a.release, b.release);
}
