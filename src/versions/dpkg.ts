/**
 * dpkg's version order (Debian Policy 5.6.12, dpkg's `verrevcmp`), over full version strings
 * `[epoch:]upstream[-revision]` as `dpkg-query` prints them.
 */

export interface DpkgVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/** Splits like dpkg's parseversion: epoch before the first ':', revision after the last '-'. */
export function parseDpkgVersion(s: string): DpkgVersion {
  const v = s.trim();
  const colon = v.indexOf(':');
  const epoch = colon > 0 && /^[0-9]+$/.test(v.slice(0, colon)) ? Number(v.slice(0, colon)) : 0;
  const rest = colon >= 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

/** Why dpkg would refuse `s` as a version ("bad syntax"), or undefined when it is valid. */
export function dpkgVersionProblem(s: string): string | undefined {
  if (s.trim() === '') return 'version string is empty';
  if (/\s/.test(s.trim())) return 'version string has embedded spaces';
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const e = s.slice(0, colon).trim();
    if (e === '') return 'epoch in version is empty';
    if (!/^[0-9]+$/.test(e)) return 'epoch in version is not number';
    if (Number(e) > 2147483647) return 'epoch in version is too big';
  }
  const v = parseDpkgVersion(s);
  if (v.upstream === '') return 'version number is empty';
  if (s.trim().lastIndexOf('-') > colon && v.revision === '') return 'revision number is empty';
  if (!/^[A-Za-z0-9.+~:-]*$/.test(v.upstream)) return 'invalid character in version number';
  if (!/^[A-Za-z0-9.+~]*$/.test(v.revision)) return 'invalid character in revision number';
  return undefined;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** dpkg's character order: `~` before everything (even the end), letters before non-letters. */
function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp over one part (upstream version or revision). */
export function dpkgPartCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(i < a.length && !isDigit(a[i]) ? a[i] : undefined);
      const bc = order(j < b.length && !isDigit(b[j]) ? b[j] : undefined);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** <0, 0, >0 as `a` is older, equal or newer than `b` (dpkg --compare-versions). */
export function compareDpkg(a: string, b: string): number {
  const va = parseDpkgVersion(a);
  const vb = parseDpkgVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch - vb.epoch;
  return dpkgPartCompare(va.upstream, vb.upstream) || dpkgPartCompare(va.revision, vb.revision);
}
