/** Sizes and times as people read them. */

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function between(a: string | null | undefined, b: string | null | undefined): number | null {
  if (!a || !b) return null;
  const d = (Date.parse(b) - Date.parse(a)) / 1000;
  return Number.isFinite(d) ? Math.max(0, d) : null;
}

/** "3 min ago", "in 5 s" — relative to now. */
export function ago(t: string | null | undefined, now = Date.now()): string {
  if (!t) return '—';
  const ms = Date.parse(t);
  if (!Number.isFinite(ms)) return t;
  const d = (now - ms) / 1000;
  if (Math.abs(d) < 2) return 'just now';
  return d >= 0 ? `${seconds(d).replace(/\.\d+ s$/, ' s')} ago` : `in ${seconds(-d)}`;
}

/** A local date and time for titles and tables (the API's times are UTC). */
export function when(t: string | null | undefined): string {
  if (!t) return '—';
  const d = new Date(t);
  return Number.isFinite(d.getTime()) ? d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }) : t;
}

export function shortId(id: string): string {
  return id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? word : many}`;
}

export const FINAL = ['completed', 'failed', 'cancelled', 'timeout'];
export const isFinal = (s: string) => FINAL.includes(s);
