/**
 * rpm's version order: `rpmvercmp` per part (with `~` and `^`), and rpm's EVR order over full
 * `[epoch:]version[-release]` strings as rpm 4.x parses them.
 */

export interface Evr {
  epoch: string | undefined;
  version: string;
  release: string | undefined;
}

/** rpm's parseEVR: a digits-only prefix before ':' is the epoch, the release follows the last '-'. */
export function parseEvr(s: string): Evr {
  let k = 0;
  while (k < s.length && s[k]! >= '0' && s[k]! <= '9') k++;
  const epoch = s[k] === ':' ? s.slice(0, k) || '0' : undefined;
  const rest = epoch !== undefined ? s.slice(k + 1) : s;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) } : { epoch, version: rest, release: undefined };
}

/** Why rpm would refuse `s` as an EVR, or undefined when it is valid. */
export function rpmVersionProblem(s: string): string | undefined {
  if (s === '') return 'version string is empty';
  if (/\s/.test(s)) return 'version string has whitespace';
  const colon = s.indexOf(':');
  if (colon >= 0 && !/^[0-9]*$/.test(s.slice(0, colon))) return 'epoch is not a number';
  const v = parseEvr(s);
  if (v.version === '') return 'version is empty';
  if (v.version.includes(':')) return 'version has a second colon';
  if (v.release === '') return 'release is empty';
  return undefined;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined) => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined) => isDigit(c) || isAlpha(c);

/** rpmvercmp over one part (version or release). */
export function rpmPartCompare(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
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
    const numeric = isDigit(a[i]);
    const inSeg = numeric ? isDigit : isAlpha;
    let ei = i;
    let ej = j;
    while (ei < a.length && inSeg(a[ei])) ei++;
    while (ej < b.length && inSeg(b[ej])) ej++;
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

/** rpm's EVR order (rpm.vercmp, labelCompare): epochs (missing = 0), versions, then releases, a missing one first. */
export function compareRpm(a: string, b: string): number {
  const va = parseEvr(a);
  const vb = parseEvr(b);
  return (
    rpmPartCompare(va.epoch ?? '0', vb.epoch ?? '0') ||
    rpmPartCompare(va.version, vb.version) ||
    (va.release === undefined || vb.release === undefined
      ? Number(va.release !== undefined) - Number(vb.release !== undefined)
      : rpmPartCompare(va.release, vb.release))
  );
}
