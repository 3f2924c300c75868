import { GuestkitError } from '../../protocol/errors.js';
import { DEFAULT_NAMESPACE, MAX_PAGE, type JobQuery } from '../../ports/job-store.js';
import { decodeCursor } from '../sqlite/list-query.js';

// the cursor format is shared with the SQLite store: (queued_at, job_id) of the last item
export { decodeCursor, encodeCursor } from '../sqlite/list-query.js';

const IMAGE_PATH = `(doc #>> '{payload,data,image,path}')`;
const LABELS = `(doc -> 'metadata' -> 'labels')`;

/** The SELECT of a job listing: newest first on (queued_at, job_id), filters on columns and JSONB. */
export function buildPgListQuery(q: JobQuery): { sql: string; params: unknown[]; limit: number } {
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const statuses = q.status === undefined ? [] : typeof q.status === 'string' ? [q.status] : [...q.status];
  if (statuses.length) where.push(`status = ANY(${p(statuses)}::text[])`);
  if (q.operation !== undefined) where.push(`operation = ${p(q.operation)}`);
  if (q.namespace !== undefined) {
    where.push(q.namespace === DEFAULT_NAMESPACE ? `(namespace = ${p(q.namespace)} OR namespace IS NULL)` : `namespace = ${p(q.namespace)}`);
  }
  // starts_with, not LIKE: a prefix may hold % and _
  if (q.imagePrefix !== undefined) where.push(`starts_with(${IMAGE_PATH}, ${p(q.imagePrefix)})`);
  if (q.search !== undefined && q.search.trim() !== '') {
    // strpos on lower-cased text: % and _ are literal
    const n = p(q.search.trim().toLowerCase());
    where.push(`(strpos(lower(job_id), ${n}) > 0 OR strpos(lower(coalesce(doc #>> '{metadata,name}', '')), ${n}) > 0
      OR strpos(lower(coalesce(${LABELS}::text, '')), ${n}) > 0 OR strpos(lower(coalesce(${IMAGE_PATH}, '')), ${n}) > 0)`);
  }
  if (q.queuedFrom !== undefined) where.push(`queued_at >= ${p(q.queuedFrom)}`);
  if (q.queuedTo !== undefined) where.push(`queued_at < ${p(q.queuedTo)}`);
  for (const l of q.labels ?? []) {
    if (!/^[A-Za-z0-9._/-]+$/.test(l.key)) throw new GuestkitError('VALIDATION_ERROR', `label key ${JSON.stringify(l.key)} is not allowed`, { phase: 'validation' });
    if (l.op === 'exists') where.push(`(${LABELS} ->> ${p(l.key)}) IS NOT NULL`);
    // containment: the GIN index on the labels answers it
    else if (l.op === '=') where.push(`${LABELS} @> jsonb_build_object(${p(l.key)}::text, ${p(l.value)}::text)`);
    else where.push(`(${LABELS} ->> ${p(l.key)}) IS DISTINCT FROM ${p(l.value)}`);
  }
  if (q.cursor !== undefined) {
    const [at, id] = decodeCursor(q.cursor);
    where.push(`(queued_at, job_id) < (${p(at)}::bigint, ${p(id)}::text)`);
  }
  const limit = Math.max(1, Math.min(MAX_PAGE, Math.floor(q.limit ?? 100)));
  const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY queued_at DESC, job_id DESC LIMIT ${p(limit + 1)}`;
  return { sql, params, limit };
}
