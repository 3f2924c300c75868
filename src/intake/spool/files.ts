import { closeSync, openSync, readdirSync, readSync, statSync, unlinkSync } from 'node:fs';
import { jobIdProblems } from '../../protocol/index.js';

/** A cancel file may hold `{"reason": "..."}`; anything else (empty, text, bad JSON) is just a cancel. */
export function cancelReason(path: string): string | undefined {
  try {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(1024);
      const n = readSync(fd, buf, 0, buf.length, 0);
      if (n === 0 || n === buf.length) return undefined;
      const doc = JSON.parse(buf.subarray(0, n).toString('utf8')) as unknown;
      const reason = isObj(doc) ? doc.reason : undefined;
      return typeof reason === 'string' && reason.trim() !== '' ? reason.slice(0, 500) : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

export function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}

export function statSafe(p: string) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

export function unlinkQuiet(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    /* already gone */
  }
}

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The document's job_id when usable as a file name, else the file name without .json. */
export function jobIdFor(doc: unknown, file: string): string {
  const id = isObj(doc) ? doc.job_id : undefined;
  if (typeof id === 'string' && jobIdProblems(id).length === 0) return id;
  return file.replace(/\.json$/, '');
}

export function operationOf(doc: unknown): string {
  return isObj(doc) && typeof doc.operation === 'string' && doc.operation.length < 100 ? doc.operation : 'unknown';
}

export function observabilityOf(doc: unknown): { trace_id?: string | null; span_id?: string | null } | undefined {
  const o = isObj(doc) ? doc.observability : undefined;
  if (!isObj(o)) return undefined;
  return { trace_id: typeof o.trace_id === 'string' ? o.trace_id : undefined, span_id: typeof o.span_id === 'string' ? o.span_id : undefined };
}
