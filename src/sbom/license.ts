import { SPDX_IDS_TEXT } from './spdx-ids.js';

let ids: Map<string, string> | undefined;

/** Lower-cased identifier → its canonical spelling (SPDX identifiers match case-insensitively). */
function known(): Map<string, string> {
  return (ids ??= new Map(SPDX_IDS_TEXT.split(' ').map((id) => [id.toLowerCase(), id])));
}

/**
 * The licence a package database records, as an SPDX licence expression when it is one
 * (`GPL-2.0-or-later`, `MIT AND (LGPL-2.1-or-later OR BSD-3-Clause)`), identifiers in their
 * canonical case; undefined when it is free text (`GPLv2+`, `GPL`, `BSD-like`), which the
 * documents then carry as a name (CycloneDX) or a LicenseRef with the text (SPDX).
 */
export function spdxExpression(text: string): string | undefined {
  const tokens = text.match(/[()]|[^\s()]+/g) ?? [];
  let pos = 0;
  const out: string[] = [];
  const op = (...want: string[]): string | undefined => {
    const t = tokens[pos]?.toUpperCase();
    return t !== undefined && want.includes(t) ? (pos++, t) : undefined;
  };
  const id = (): boolean => {
    const t = tokens[pos];
    const plus = t?.endsWith('+') ? '+' : '';
    const canonical = t ? known().get((plus ? t.slice(0, -1) : t).toLowerCase()) : undefined;
    if (!canonical) return false;
    out.push(canonical + plus);
    pos++;
    return true;
  };
  // expression := term (AND|OR term)* ; term := '(' expression ')' | id [WITH id]
  const term = (): boolean => {
    if (tokens[pos] === '(') {
      pos++;
      out.push('(');
      if (!expression() || tokens[pos] !== ')') return false;
      pos++;
      out.push(')');
      return true;
    }
    if (!id()) return false;
    if (op('WITH')) {
      out.push('WITH');
      return id();
    }
    return true;
  };
  const expression = (): boolean => {
    if (!term()) return false;
    for (let o = op('AND', 'OR'); o; o = op('AND', 'OR')) {
      out.push(o);
      if (!term()) return false;
    }
    return true;
  };
  if (tokens.length === 0 || !expression() || pos !== tokens.length) return undefined;
  return out.join(' ').replace(/\( /g, '(').replace(/ \)/g, ')');
}
