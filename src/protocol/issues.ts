import type { z } from 'zod';

/** One validation finding: a JSON path (`execution.priority`) and a plain message. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** `execution.priority: must be between 1 and 10`; the document itself has the empty path. */
export function formatIssue(issue: ValidationIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

const IDENT = /^[A-Za-z_$][\w$-]*$/;

/** Zod's path as `a.b[0].c`; keys that are not plain words are quoted: `labels["a b"]`. */
export function formatPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const key = String(seg);
      if (IDENT.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

const NOUNS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'an array',
  nonoptional: 'present',
};

function plural(n: number | bigint, word: string): string {
  return `${n} ${word}${n === 1 || n === 1n ? '' : 's'}`;
}

/**
 * Per-parse zod error map: plain messages without zod's "Invalid input:"
 * wording. Messages set on a schema itself take precedence over this.
 */
export const plainErrorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type': {
      if (iss.input === undefined) return 'is required';
      if (typeof iss.input === 'number' && !Number.isFinite(iss.input)) return 'must be a finite number';
      // z.int() reports a string as "expected number"; its definition knows it wants an integer.
      const isInt = (iss.inst as { _zod?: { def?: { format?: string } } } | undefined)?._zod?.def?.format === 'safeint';
      const noun = isInt ? NOUNS.int : (NOUNS[iss.expected] ?? iss.expected);
      return iss.input === null ? `must be ${noun}, not null` : `must be ${noun}`;
    }
    case 'too_small': {
      const min = iss.minimum;
      if (iss.origin === 'string') return min === 1 ? 'must not be empty' : `must be at least ${plural(min, 'character')}`;
      if (iss.origin === 'array' || iss.origin === 'set') return min === 1 ? 'must not be empty' : `must have at least ${plural(min, 'item')}`;
      return iss.inclusive === false ? `must be greater than ${min}` : `must be at least ${min}`;
    }
    case 'too_big': {
      const max = iss.maximum;
      if (iss.origin === 'string') return `must be at most ${plural(max, 'character')}`;
      if (iss.origin === 'array' || iss.origin === 'set') return `must have at most ${plural(max, 'item')}`;
      return iss.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
    }
    case 'invalid_value':
      if (iss.input === undefined) return 'is required';
      return iss.values.length === 1
        ? `must be ${JSON.stringify(iss.values[0])}`
        : `must be one of ${iss.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_format':
      return iss.format === 'regex' ? `must match ${String(iss.pattern)}` : `must be a valid ${iss.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${iss.divisor}`;
    case 'unrecognized_keys':
      return `has unknown keys ${iss.keys.join(', ')}`;
    case 'invalid_union':
      return 'has an invalid value';
    case 'invalid_key':
      return 'has an invalid key';
    case 'invalid_element':
      return 'has an invalid element';
    default:
      return 'is invalid';
  }
};

/** Zod issues as ValidationIssues, each path prefixed, duplicates dropped. */
export function fromZodIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const iss of issues) {
    const v = { path: formatPath(iss.path, prefix), message: iss.message };
    const key = `${v.path}\0${v.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(v);
  }
  return out;
}
