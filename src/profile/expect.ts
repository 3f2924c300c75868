import type { Expect } from './types.js';

const norm = (v: string | number) => String(v).trim().toLowerCase();

/** A number as config files write it (decimal; sshd's time suffixes are handled by the caller). */
function num(v: string): number | undefined {
  const t = v.trim();
  return /^[+-]?\d+$/.test(t) ? Number(t) : undefined;
}

function listOf(v: string): string[] {
  return v
    .split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

/** Whether a value read satisfies an expectation; the reason when it does not. */
export function satisfies(value: string, e: Expect): { ok: boolean; why?: string } {
  const v = norm(value);
  if (e.nonempty && v === '') return { ok: false, why: 'empty' };
  if (e.eq !== undefined && v !== norm(e.eq)) {
    const a = num(value);
    if (!(typeof e.eq === 'number' && a === e.eq)) return { ok: false, why: `is ${value}` };
  }
  if (e.ne !== undefined && v === norm(e.ne)) return { ok: false, why: `is ${value}` };
  if (e.in && !e.in.some((x) => norm(x) === v || (typeof x === 'number' && num(value) === x))) return { ok: false, why: `is ${value}` };
  if (e.not_in && e.not_in.some((x) => norm(x) === v || (typeof x === 'number' && num(value) === x))) return { ok: false, why: `is ${value}` };
  if (e.min !== undefined || e.max !== undefined) {
    const n = num(value);
    if (n === undefined) return { ok: false, why: `${value} is not a number` };
    if (e.min !== undefined && n < e.min) return { ok: false, why: `${n} < ${e.min}` };
    if (e.max !== undefined && n > e.max) return { ok: false, why: `${n} > ${e.max}` };
  }
  if (e.excludes) {
    const have = listOf(value);
    const bad = e.excludes.filter((x) => have.includes(x.toLowerCase()));
    if (bad.length) return { ok: false, why: `includes ${bad.join(', ')}` };
  }
  if (e.includes) {
    const have = listOf(value);
    const missing = e.includes.filter((x) => !have.includes(x.toLowerCase()));
    if (missing.length) return { ok: false, why: `lacks ${missing.join(', ')}` };
  }
  if (e.fields_max) {
    const f = value.split(':').map((x) => num(x));
    for (let i = 0; i < e.fields_max.length; i++) {
      const n = f[i];
      if (n === undefined || n > e.fields_max[i]!) return { ok: false, why: `is ${value}` };
    }
  }
  return { ok: true };
}

/** The expectation as a person reads it: "≥ 14", "one of yes, no", "not 3des-cbc, …". */
export function describe(e: Expect): string {
  const parts: string[] = [];
  if (e.eq !== undefined) parts.push(String(e.eq));
  if (e.ne !== undefined) parts.push(`not ${e.ne}`);
  if (e.in) parts.push(`one of ${e.in.join(', ')}`);
  if (e.not_in) parts.push(`none of ${e.not_in.join(', ')}`);
  if (e.min !== undefined && e.max !== undefined) parts.push(`${e.min}..${e.max}`);
  else if (e.min !== undefined) parts.push(`>= ${e.min}`);
  else if (e.max !== undefined) parts.push(`<= ${e.max}`);
  if (e.excludes) parts.push(`without ${e.excludes.join(', ')}`);
  if (e.includes) parts.push(`with ${e.includes.join(', ')}`);
  if (e.nonempty) parts.push('set');
  if (e.fields_max) parts.push(`at most ${e.fields_max.join(':')}`);
  return parts.join('; ');
}
