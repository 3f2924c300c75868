import { z } from 'zod';

// RFC 3339 section 5.6 date-time: "T" and "Z" may be lower case; any numeric offset.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * An RFC 3339 timestamp rewritten in UTC (`...Z`), keeping the seconds and
 * fraction exactly as written (an offset only moves hours and minutes, and a
 * leap second `:60` survives). Null when the text is not RFC 3339.
 */
export function toUtcTimestamp(text: string): string | null {
  if (text.length > 40) return null;
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = m[7] ?? '';
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 60) return null;
  let offsetMinutes = 0;
  if (m[8]) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (m[8] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  if (offsetMinutes === 0) {
    return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${fraction}Z`;
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute - offsetMinutes, 0, 0);
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) return null;
  return (
    `${pad(y, 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${m[6]}${fraction}Z`
  );
}

export function isRfc3339(text: string): boolean {
  return toUtcTimestamp(text) !== null;
}

/** Milliseconds since the epoch of a valid RFC 3339 timestamp (a leap second counts as :59.999). */
export function timestampMillis(text: string): number {
  const utc = toUtcTimestamp(text);
  if (utc === null) return Number.NaN;
  return Date.parse(utc.replace(/:60(\.\d+)?Z$/, ':59.999Z'));
}

let lastMs = Number.NaN;
let lastText = '';

/** Current time as an RFC 3339 UTC timestamp with milliseconds (formatted once per millisecond: a job stamps several). */
export function nowTimestamp(now?: Date): string {
  const ms = now ? now.getTime() : Date.now();
  if (ms !== lastMs) {
    lastText = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastText;
}

/** Zod schema: an RFC 3339 string in, the same instant as UTC text out. */
export const Timestamp = z
  .string()
  .meta({ format: 'date-time' })
  .check((ctx) => {
    if (!isRfc3339(ctx.value)) {
      ctx.issues.push({
        code: 'custom',
        message: 'must be an RFC 3339 timestamp such as 2026-01-30T10:00:00Z',
        input: ctx.value,
      });
    }
  })
  .transform((s) => toUtcTimestamp(s) ?? s);
