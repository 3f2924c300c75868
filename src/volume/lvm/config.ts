import { corrupt } from '../../protocol/errors.js';

/** A value in LVM's config format: number, string, array, or a nested section. */
export type ConfigValue = number | string | ConfigValue[] | ConfigSection;
export interface ConfigSection {
  [key: string]: ConfigValue;
}

const MAX_DEPTH = 32;
const PUNCT = new Set(['{', '}', '[', ']', '=', ',']);
const STRING_STOP = /["\\]/g;
const WORD_END = /[\s#{}[\]=,"]/g;

type Token = { kind: 'punct'; text: string; line: number } | { kind: 'string'; text: string; line: number } | { kind: 'word'; text: string; line: number };

/**
 * Parses LVM's text config format (the on-disk VG metadata): `name { … }` sections,
 * `key = value`, arrays `[a, b]`, "strings" with backslash escapes, numbers, `#` comments.
 * Malformed text is CORRUPT_IMAGE naming the line.
 */
export function parseConfig(text: string, what = 'LVM metadata'): ConfigSection {
  const tokens = tokenize(text, what);
  let i = 0;
  const fail = (msg: string, t?: Token): never => {
    throw corrupt(`${what}: ${msg}${t ? ` at line ${t.line}` : ' at end of text'}`);
  };
  const parseValue = (depth: number): ConfigValue => {
    const t = tokens[i++] ?? fail('value expected');
    if (t.kind === 'string') return t.text;
    if (t.kind === 'word') {
      if (/^[+-]?\d+$/.test(t.text)) {
        const n = Number(t.text);
        return Number.isSafeInteger(n) ? n : t.text;
      }
      if (/^[+-]?\d+\.\d*$/.test(t.text)) return Number(t.text);
      return fail(`unexpected "${t.text}" where a value belongs`, t);
    }
    if (t.text !== '[') return fail(`unexpected "${t.text}" where a value belongs`, t);
    if (depth >= MAX_DEPTH) fail('arrays nested too deeply', t);
    const arr: ConfigValue[] = [];
    for (;;) {
      const n = tokens[i] ?? fail('unterminated array');
      if (n.kind === 'punct' && n.text === ']') {
        i++;
        return arr;
      }
      arr.push(parseValue(depth + 1));
      const sep = tokens[i] ?? fail('unterminated array');
      if (sep.kind === 'punct' && sep.text === ',') i++;
      else if (!(sep.kind === 'punct' && sep.text === ']')) fail(`expected "," or "]" but found "${sep.text}"`, sep);
    }
  };
  const parseSection = (depth: number, closing: boolean): ConfigSection => {
    const sec: ConfigSection = Object.create(null) as ConfigSection;
    for (;;) {
      const t = tokens[i];
      if (!t) {
        if (closing) fail('unterminated section');
        return sec;
      }
      if (t.kind === 'punct' && t.text === '}') {
        if (!closing) fail('unexpected "}"', t);
        i++;
        return sec;
      }
      if (t.kind === 'punct') fail(`unexpected "${t.text}" where a key belongs`, t);
      i++;
      const op = tokens[i++] ?? fail(`"${t.text}" is not followed by "=" or "{"`);
      if (op.kind === 'punct' && op.text === '=') sec[t.text] = parseValue(depth);
      else if (op.kind === 'punct' && op.text === '{') {
        if (depth >= MAX_DEPTH) fail('sections nested too deeply', op);
        sec[t.text] = parseSection(depth + 1, true);
      } else fail(`"${t.text}" is not followed by "=" or "{"`, op);
    }
  };
  return parseSection(0, false);
}

function tokenize(text: string, what: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) i++;
    else if (c === '#') {
      const e = text.indexOf('\n', i);
      i = e < 0 ? n : e;
    } else if (PUNCT.has(c)) {
      out.push({ kind: 'punct', text: c, line });
      i++;
    } else if (c === '"') {
      const start = line;
      const parts: string[] = [];
      i++;
      for (;;) {
        STRING_STOP.lastIndex = i;
        const m = STRING_STOP.exec(text);
        if (!m) throw corrupt(`${what}: unterminated string starting at line ${start}`);
        const chunk = text.slice(i, m.index);
        parts.push(chunk);
        for (let k = chunk.indexOf('\n'); k >= 0; k = chunk.indexOf('\n', k + 1)) line++;
        i = m.index + 1;
        if (m[0] === '"') break;
        // A backslash escapes the next character, whatever it is.
        if (i >= n) throw corrupt(`${what}: unterminated string starting at line ${start}`);
        if (text[i] === '\n') line++;
        parts.push(text[i]!);
        i++;
      }
      out.push({ kind: 'string', text: parts.join(''), line: start });
    } else {
      WORD_END.lastIndex = i;
      const j = WORD_END.exec(text)?.index ?? n;
      out.push({ kind: 'word', text: text.slice(i, j), line });
      i = j;
    }
  }
  return out;
}

export function isSection(v: ConfigValue | undefined): v is ConfigSection {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
