/**
 * apk-tools' version order (Gentoo-style): `{digits}{.digits}…{letter}{_suffix{digits}}…{-rN}`.
 * A tokenizer over the string, transcribed from apk-tools' version.c: pre-release suffixes
 * (`_alpha` `_beta` `_pre` `_rc`) sort before the bare release, post-release ones (`_cvs` `_svn`
 * `_git` `_hg` `_p`) after it; a component with leading zeros sorts before one without.
 */

// token kinds, in apk-tools' order: the order itself decides which longer version is newer
const INVALID = -1;
const DIGIT_OR_ZERO = 0;
const DIGIT = 1;
const LETTER = 2;
const SUFFIX = 3;
const SUFFIX_NO = 4;
const REVISION_NO = 5;
const END = 6;

const PRE_SUFFIXES = ['alpha', 'beta', 'pre', 'rc'];
const POST_SUFFIXES = ['cvs', 'svn', 'git', 'hg', 'p'];

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isLower = (c: string | undefined) => c !== undefined && c >= 'a' && c <= 'z';

class Cursor {
  type = DIGIT;
  pos = 0;
  constructor(readonly s: string) {}

  /** The kind of the next token, from the separator (or letter/digit switch) at `pos`. */
  private nextType(): void {
    const s = this.s;
    let n = INVALID;
    const c = s[this.pos];
    if (this.pos >= s.length) n = END;
    else if ((this.type === DIGIT || this.type === DIGIT_OR_ZERO) && isLower(c)) n = LETTER;
    else if (this.type === LETTER && isDigit(c)) n = DIGIT;
    else if (this.type === SUFFIX && isDigit(c)) n = SUFFIX_NO;
    else {
      if (c === '.') n = DIGIT_OR_ZERO;
      else if (c === '_') n = SUFFIX;
      else if (c === '-' && s[this.pos + 1] === 'r') {
        n = REVISION_NO;
        this.pos++;
      }
      this.pos++;
    }
    if (n < this.type) {
      const allowed =
        (n === DIGIT_OR_ZERO && this.type === DIGIT) ||
        (n === SUFFIX && this.type === SUFFIX_NO) ||
        (n === DIGIT && this.type === LETTER);
      if (!allowed) n = INVALID;
    }
    this.type = n;
  }

  /** The value of the token at `pos` (of kind `type`), then advances to the next token. */
  token(): number {
    const s = this.s;
    if (this.pos >= s.length) {
      this.type = END;
      return 0;
    }
    let v = 0;
    let i = this.pos;
    let nt = INVALID;
    const leadingZeros = this.type === DIGIT_OR_ZERO && s[i] === '0';
    switch (leadingZeros ? -2 : this.type) {
      case -2:
        // leading zeros: "1.01" sorts before "1.1", as a string would
        while (s[i] === '0') i++;
        nt = DIGIT;
        v = -(i - this.pos);
        break;
      case DIGIT_OR_ZERO:
      case DIGIT:
      case SUFFIX_NO:
      case REVISION_NO:
        // apk-tools reads digits into a C int; big numbers compare by value here
        while (isDigit(s[i])) v = v * 10 + (s.charCodeAt(i++) - 48);
        break;
      case LETTER:
        v = s.charCodeAt(i++);
        break;
      case SUFFIX: {
        const rest = s.slice(i);
        const pre = PRE_SUFFIXES.findIndex((x) => rest.startsWith(x));
        const post = POST_SUFFIXES.findIndex((x) => rest.startsWith(x));
        if (pre >= 0) {
          v = pre - PRE_SUFFIXES.length;
          i += PRE_SUFFIXES[pre]!.length;
        } else if (post >= 0) {
          v = post;
          i += POST_SUFFIXES[post]!.length;
        } else {
          this.type = INVALID;
          return -1;
        }
        break;
      }
      default:
        this.type = INVALID;
        return -1;
    }
    this.pos = i;
    if (this.pos >= s.length) this.type = END;
    else if (nt !== INVALID) this.type = nt;
    else this.nextType();
    return v;
  }
}

/** <0, 0, >0 as `a` is older, equal or newer than `b` (apk version --test). */
export function compareApk(a: string, b: string): number {
  const ca = new Cursor(a);
  const cb = new Cursor(b);
  let av = 0;
  let bv = 0;
  while (ca.type === cb.type && ca.type !== END && ca.type !== INVALID && av === bv) {
    av = ca.token();
    bv = cb.token();
  }
  if (av !== bv) return av < bv ? -1 : 1;
  if (ca.type === cb.type) return 0;
  // equal so far: the longer one is newer, unless what it has left is a pre-release suffix
  if (ca.type === SUFFIX && isPreSuffix(ca)) return -1;
  if (cb.type === SUFFIX && isPreSuffix(cb)) return 1;
  if (ca.type > cb.type) return -1;
  if (cb.type > ca.type) return 1;
  return 0;
}

function isPreSuffix(c: Cursor): boolean {
  const peek = new Cursor(c.s);
  peek.type = c.type;
  peek.pos = c.pos;
  return peek.token() < 0;
}

/** Why apk would refuse `s` as a version, or undefined when it is valid. */
export function apkVersionProblem(s: string): string | undefined {
  if (s === '') return 'version string is empty';
  const c = new Cursor(s);
  while (c.type !== END && c.type !== INVALID) c.token();
  return c.type === END ? undefined : `not an apk version (digits, letter, _suffix, -rN): ${JSON.stringify(s)}`;
}
