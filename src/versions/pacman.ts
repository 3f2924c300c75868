/**
 * pacman's version order: libalpm's `alpm_pkg_vercmp` over `[epoch:]pkgver[-pkgrel]`. Its
 * rpmvercmp is rpm's older one: no `~`/`^` rules, but separator runs of different length
 * decide ("1.0..1" > "1.0.1") and a trailing letter segment loses to the end ("1.0a" < "1.0").
 */

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined) => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined) => isDigit(c) || isAlpha(c);

/** libalpm's rpmvercmp over one part. */
export function alpmPartCompare(a: string, b: string): number {
  if (a === b) return 0;
  let one = 0;
  let two = 0;
  let p1 = 0;
  let p2 = 0;
  while (one < a.length && two < b.length) {
    while (one < a.length && !isAlnum(a[one])) one++;
    while (two < b.length && !isAlnum(b[two])) two++;
    if (!(one < a.length && two < b.length)) break;
    if (one - p1 !== two - p2) return one - p1 < two - p2 ? -1 : 1;
    p1 = one;
    p2 = two;
    const numeric = isDigit(a[p1]);
    const inSeg = numeric ? isDigit : isAlpha;
    while (p1 < a.length && inSeg(a[p1])) p1++;
    while (p2 < b.length && inSeg(b[p2])) p2++;
    if (p2 === two) return numeric ? 1 : -1; // numeric segments are newer than alpha ones
    let sa = a.slice(one, p1);
    let sb = b.slice(two, p2);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    one = p1;
    two = p2;
  }
  if (one >= a.length && two >= b.length) return 0;
  // what is left over: an alpha segment never beats the end, anything else does
  return (one >= a.length && !isAlpha(b[two])) || isAlpha(a[one]) ? -1 : 1;
}

interface PacmanVersion {
  epoch: string;
  pkgver: string;
  pkgrel: string | undefined;
}

/** libalpm's parseEVR: digits before ':' are the epoch (default 0), pkgrel follows the last '-'. */
export function parsePacmanVersion(s: string): PacmanVersion {
  let k = 0;
  while (isDigit(s[k])) k++;
  const hasEpoch = s[k] === ':';
  const epoch = hasEpoch ? s.slice(0, k) || '0' : '0';
  const rest = hasEpoch ? s.slice(k + 1) : s;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, pkgver: rest.slice(0, dash), pkgrel: rest.slice(dash + 1) } : { epoch, pkgver: rest, pkgrel: undefined };
}

/** Why pacman would refuse `s` as a version (makepkg's rules), or undefined when it is valid. */
export function pacmanVersionProblem(s: string): string | undefined {
  if (s === '') return 'version string is empty';
  const colon = s.indexOf(':');
  if (colon >= 0 && !/^[0-9]+$/.test(s.slice(0, colon))) return 'epoch is not a number';
  const v = parsePacmanVersion(s);
  if (v.pkgver === '') return 'pkgver is empty';
  if (!/^[A-Za-z0-9._+]+$/.test(v.pkgver)) return 'pkgver may hold only letters, digits and . _ +';
  if (v.pkgrel !== undefined && !/^[0-9]+(\.[0-9]+)?$/.test(v.pkgrel)) return 'pkgrel must be a number (N or N.M)';
  return undefined;
}

/** <0, 0, >0 as `a` is older, equal or newer than `b` (pacman's vercmp). */
export function comparePacman(a: string, b: string): number {
  if (a === b) return 0;
  const va = parsePacmanVersion(a);
  const vb = parsePacmanVersion(b);
  return (
    alpmPartCompare(va.epoch, vb.epoch) ||
    alpmPartCompare(va.pkgver, vb.pkgver) ||
    (va.pkgrel !== undefined && vb.pkgrel !== undefined ? alpmPartCompare(va.pkgrel, vb.pkgrel) : 0)
  );
}
