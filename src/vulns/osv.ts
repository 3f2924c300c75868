/**
 * The part of the OSV schema (https://ossf.github.io/osv-schema/) that matching needs. Other
 * fields (details, references, credits, a later schema version's additions) are accepted and
 * dropped, not refused: z.object strips them, which also keeps zod on its compiled fast path
 * (an import of 100,000 records spends most of its time here).
 */
import { z } from 'zod';

const EventSchema = z
  .object({
    introduced: z.string().min(1).optional(),
    fixed: z.string().min(1).optional(),
    last_affected: z.string().min(1).optional(),
    limit: z.string().min(1).optional(),
  })
  .refine((e) => [e.introduced, e.fixed, e.last_affected, e.limit].filter((v) => v !== undefined).length === 1, {
    message: 'an event holds exactly one of introduced, fixed, last_affected, limit',
  });

const RangeSchema = z.object({
  type: z.string().min(1),
  repo: z.string().optional(),
  events: z.array(EventSchema).min(1),
});

const SeveritySchema = z.object({ type: z.string().min(1), score: z.string().min(1) });

/** Only the vendor severity fields are read from the *_specific objects; their values are checked where used. */
const SpecificSchema = z.object({ urgency: z.unknown().optional(), severity: z.unknown().optional() });

const AffectedSchema = z.object({
  // the schema lets `package` be absent (a GIT-only entry); such entries name nothing to match
  package: z.object({ ecosystem: z.string().min(1), name: z.string().min(1), purl: z.string().optional() }).optional(),
  severity: z.array(SeveritySchema).optional(),
  ranges: z.array(RangeSchema).optional(),
  versions: z.array(z.string()).optional(),
  ecosystem_specific: SpecificSchema.optional(),
  database_specific: SpecificSchema.optional(),
});

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export const OsvRecordSchema = z.object({
  schema_version: z.string().optional(),
  id: z.string().min(1).max(200),
  modified: z.string().regex(TIMESTAMP, 'an RFC 3339 timestamp'),
  published: z.string().optional(),
  withdrawn: z.string().optional(),
  aliases: z.array(z.string()).optional(),
  related: z.array(z.string()).optional(),
  upstream: z.array(z.string()).optional(),
  summary: z.string().optional(),
  severity: z.array(SeveritySchema).optional(),
  affected: z.array(AffectedSchema).optional(),
  database_specific: SpecificSchema.optional(),
});

export type OsvRecord = z.output<typeof OsvRecordSchema>;
export type OsvAffected = z.output<typeof AffectedSchema>;
export type OsvRange = z.output<typeof RangeSchema>;
export type OsvEvent = z.output<typeof EventSchema>;
export type OsvSeverity = z.output<typeof SeveritySchema>;

/** A record, or why it is not one (the first problems zod found, with their paths). */
export function parseOsvRecord(value: unknown): { ok: true; record: OsvRecord } | { ok: false; error: string; id?: string } {
  const r = OsvRecordSchema.safeParse(value);
  if (r.success) return { ok: true, record: r.data };
  const id = value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string' ? (value as { id: string }).id : undefined;
  const error = r.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(record)'}: ${i.message}`)
    .join('; ');
  return id === undefined ? { ok: false, error } : { ok: false, error, id };
}
