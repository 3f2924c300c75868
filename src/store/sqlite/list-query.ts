import { GuestkitError } from '../../protocol/errors.js';
import { DEFAULT_NAMESPACE, MAX_PAGE, type JobQuery } from '../../ports/job-store.js';

/** Cursor = the last item's (queued_at, job_id), newest first: stable while jobs are added. */
export function encodeCursor(queuedAt: number, jobId: string): string {
  return Buffer.from(JSON.stringify([queuedAt, jobId])).toString('base64url');
}

export function decodeCursor(cursor: string): [number, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isFinite(v[0]) && typeof v[1] === 'string') return [v[0] as number, v[1]];
  } catch {
    /* fall through */
  }
  throw new GuestkitError('VALIDATION_ERROR', 'cursor is not one this store handed out', { phase: 'validation', details: { cursor } });
}

/** The WHERE clause and parameters of a job listing (labels read from the stored document). */
export function buildListQuery(q: JobQuery): { sql: string; params: unknown[]; limit: number } {
  const where: string[] = [];
  const params: unknown[] = [];
  const statuses = q.status === undefined ? [] : typeof q.status === 'string' ? [q.status] : [...q.status];
  if (statuses.length) {
    where.push(`status IN (${statuses.map(() => '?').join(',')})`);
    params.push(...statuses);
  }
  if (q.operation !== undefined) {
    where.push('operation = ?');
    params.push(q.operation);
  }
  if (q.namespace !== undefined) {
    where.push(q.namespace === DEFAULT_NAMESPACE ? '(namespace = ? OR namespace IS NULL)' : 'namespace = ?');
    params.push(q.namespace);
  }
  if (q.imagePrefix !== undefined) {
    // substr, not LIKE: a prefix may hold % and _
    where.push(`substr(json_extract(doc, '$.payload.data.image.path'), 1, ?) = ?`);
    params.push(q.imagePrefix.length, q.imagePrefix);
  }
  if (q.search !== undefined && q.search.trim() !== '') {
    const needle = `%${q.search.trim().toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(`(lower(job_id) LIKE ? ESCAPE '\\' OR lower(coalesce(json_extract(doc, '$.metadata.name'), '')) LIKE ? ESCAPE '\\'
      OR lower(coalesce(json_extract(doc, '$.metadata.labels'), '')) LIKE ? ESCAPE '\\'
      OR lower(coalesce(json_extract(doc, '$.payload.data.image.path'), '')) LIKE ? ESCAPE '\\')`);
    params.push(needle, needle, needle, needle);
  }
  if (q.queuedFrom !== undefined) {
    where.push('queued_at >= ?');
    params.push(q.queuedFrom);
  }
  if (q.queuedTo !== undefined) {
    where.push('queued_at < ?');
    params.push(q.queuedTo);
  }
  for (const l of q.labels ?? []) {
    // keys are checked by parseLabelSelector; quoted so dots and slashes stay part of the key
    if (!/^[A-Za-z0-9._/-]+$/.test(l.key)) throw new GuestkitError('VALIDATION_ERROR', `label key ${JSON.stringify(l.key)} is not allowed`, { phase: 'validation' });
    const path = `'$.metadata.labels."${l.key}"'`;
    if (l.op === 'exists') where.push(`json_extract(doc, ${path}) IS NOT NULL`);
    else if (l.op === '=') {
      where.push(`json_extract(doc, ${path}) = ?`);
      params.push(l.value);
    } else {
      where.push(`(json_extract(doc, ${path}) IS NULL OR json_extract(doc, ${path}) != ?)`);
      params.push(l.value);
    }
  }
  if (q.cursor !== undefined) {
    const [at, id] = decodeCursor(q.cursor);
    where.push('(queued_at < ? OR (queued_at = ? AND job_id < ?))');
    params.push(at, at, id);
  }
  const limit = Math.max(1, Math.min(MAX_PAGE, Math.floor(q.limit ?? 100)));
  const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY queued_at DESC, job_id DESC LIMIT ?`;
  params.push(limit + 1);
  return { sql, params, limit };
}
