/**
 * apk-tools' version order (apk-tools 2.14 / 3, Alpine's): `digits{.digits}…{letter}{_suffix{digits}}…{~hash}{-rN}`.
 * Pre-release suffixes (`_alpha` `_beta` `_pre` `_rc`) sort before the bare release, post-release
 * ones (`_cvs` `_svn` `_git` `_hg` `_p`) after it; a dotted component with a leading zero is
 * compared as a string ("1.01" < "1.1"), as Gentoo's rules say.
 */

// token kinds in apk-tools' order: when one version runs out, the order decides which is newer
const enum Tok {
  InitialDigit,
  Digit,
  Letter,
  Suffix,
  SuffixNo,
  CommitHash,
  RevisionNo,
  End,
  Invalid,
}

// suffix ranks: below NONE is a pre-release, above it a post-release
const SUFFIX_RANK: Record<string, number> = { alpha: 1, beta: 2, pre: 3, rc: 4, cvs: 6, svn: 7, git: 8, hg: 9, p: 10 };
const SUFFIX_NONE = 5;

interface Token {
  tok: Tok;
  value: string;
  suffix: number;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** Reads one version string token by token. */
class Reader {
  pos = 0;
  constructor(private readonly s: string) {}

  private span(test: (c: string) => boolean): string {
    const start = this.pos;
    while (this.pos < this.s.length && test(this.s[this.pos]!)) this.pos++;
    return this.s.slice(start, this.pos);
  }

  private digits(tok: Tok): Token {
    const value = this.span(isDigit);
    return { tok: value === '' ? Tok.Invalid : tok, value, suffix: 0 };
  }

  first(): Token {
    return this.digits(Tok.InitialDigit);
  }

  /** The token after `prev`, or Invalid when `prev` may not be followed by what comes. */
  next(prev: Tok): Token {
    const invalid: Token = { tok: Tok.Invalid, value: '', suffix: 0 };
    const c = this.s[this.pos];
    if (c === undefined) return { tok: Tok.End, value: '', suffix: 0 };
    if (c >= 'a' && c <= 'z') {
      if (prev > Tok.Digit) return invalid;
      this.pos++;
      return { tok: Tok.Letter, value: c, suffix: 0 };
    }
    if (c === '.' || isDigit(c)) {
      if (c === '.') {
        if (prev > Tok.Digit) return invalid;
        this.pos++;
      }
      if (prev === Tok.InitialDigit || prev === Tok.Digit) return this.digits(Tok.Digit);
      if (prev === Tok.Suffix) return this.digits(Tok.SuffixNo);
      return invalid;
    }
    if (c === '_') {
      if (prev > Tok.SuffixNo) return invalid;
      this.pos++;
      const value = this.span((x) => x >= 'a' && x <= 'z');
      const suffix = SUFFIX_RANK[value];
      return suffix === undefined ? invalid : { tok: Tok.Suffix, value, suffix };
    }
    if (c === '~') {
      if (prev >= Tok.CommitHash) return invalid;
      this.pos++;
      const value = this.span((x) => /[0-9a-fA-F]/.test(x));
      return value === '' ? invalid : { tok: Tok.CommitHash, value, suffix: 0 };
    }
    if (c === '-') {
      if (prev >= Tok.RevisionNo || this.s[this.pos + 1] !== 'r') return invalid;
      this.pos += 2;
      return this.digits(Tok.RevisionNo);
    }
    return invalid;
  }
}

/** Numbers of any length, by value (apk-tools reads them as 64-bit integers). */
function compareNumbers(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function compareTokens(a: Token, b: Token): number {
  switch (a.tok) {
    case Tok.Digit:
      if (a.value[0] === '0' || b.value[0] === '0') return compareStrings(a.value, b.value);
      return compareNumbers(a.value, b.value);
    case Tok.InitialDigit:
    case Tok.SuffixNo:
    case Tok.RevisionNo:
      return compareNumbers(a.value, b.value);
    case Tok.Suffix:
      return a.suffix - b.suffix;
    default:
      return compareStrings(a.value, b.value);
  }
}

/** <0, 0, >0 as `a` is older, equal or newer than `b` (`apk version -t`). */
export function compareApk(a: string, b: string): number {
  const ra = new Reader(a);
  const rb = new Reader(b);
  let ta = ra.first();
  let tb = rb.first();
  while (ta.tok === tb.tok && ta.tok < Tok.End) {
    const r = compareTokens(ta, tb);
    if (r !== 0) return r;
    ta = ra.next(ta.tok);
    tb = rb.next(tb.tok);
  }
  if (ta.tok === tb.tok) return 0;
  // equal so far: the longer one is newer, unless what it has left is a pre-release suffix
  if (ta.tok === Tok.Suffix && ta.suffix < SUFFIX_NONE) return -1;
  if (tb.tok === Tok.Suffix && tb.suffix < SUFFIX_NONE) return 1;
  return ta.tok > tb.tok ? -1 : 1;
}

/** Why apk would refuse `s` as a version, or undefined when it is valid. */
export function apkVersionProblem(s: string): string | undefined {
  const r = new Reader(s);
  let t = r.first();
  while (t.tok < Tok.End) t = r.next(t.tok);
  return t.tok === Tok.End ? undefined : `not an apk version (digits{.digits}{letter}{_suffix{N}}{~hash}{-rN}) at offset ${r.pos}`;
}
