import type { FastifyReply, FastifyRequest } from 'fastify';
import { isStoreUnavailable } from '../ports/job-store.js';
import { GuestkitError, toProtocolError, type ErrorCode, type ProtocolError } from '../protocol/errors.js';

/** The HTTP status of each protocol error code the API answers with. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  VALIDATION_ERROR: 400,
  UNSUPPORTED_OPERATION: 400,
  PATH_NOT_ALLOWED: 400,
  USAGE_ERROR: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  DUPLICATE_JOB: 409,
  // no live worker can run it now: the request is fine, the fleet is not there for it
  CAPABILITY_MISMATCH: 422,
  INVALID_STATE: 409,
  QUOTA_EXCEEDED: 429,
  UNAVAILABLE: 503,
};

export interface ErrorBody {
  error: ProtocolError;
  request_id: string;
}

/** An error as the API answers it: status + protocol error object. */
export function toHttpError(err: unknown): { status: number; error: ProtocolError; headers: Record<string, string> } {
  if (isStoreUnavailable(err)) {
    const e = new GuestkitError('UNAVAILABLE', `the job store cannot take writes now (${err.storeCode}); nothing of this request was accepted, try again`, {
      phase: 'execution',
      recoverable: true,
      retryRecommended: true,
      details: { store_error: err.storeCode },
    });
    return { status: 503, error: e.toProtocol(), headers: { 'retry-after': '1' } };
  }
  const fst = fastifyError(err);
  if (fst) return { status: fst.status, error: fst.error.toProtocol(), headers: {} };
  const error = toProtocolError(err);
  const status = err instanceof GuestkitError ? (STATUS[error.code] ?? 500) : 500;
  const headers: Record<string, string> = {};
  const retry = error.details?.retry_after_seconds;
  if (status === 429 && typeof retry === 'number') headers['retry-after'] = String(Math.max(1, Math.ceil(retry)));
  return { status, error, headers };
}

/** fastify's own refusals (body too large, bad JSON, content type) in the protocol's words. */
function fastifyError(err: unknown): { status: number; error: GuestkitError } | undefined {
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown } | null;
  if (!e || typeof e.code !== 'string' || !e.code.startsWith('FST_')) return undefined;
  const msg = typeof e.message === 'string' ? e.message : String(err);
  const v = (status: number, message: string, details?: Record<string, unknown>) => ({
    status,
    error: new GuestkitError('VALIDATION_ERROR', message, { phase: 'validation', details }),
  });
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return v(413, `request body is larger than the server's limit`, { fastify_code: e.code });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return v(e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 415 : 400, `${msg}; send the body as application/json`, { fastify_code: e.code });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return v(400, 'the body is empty; send a JSON document', { fastify_code: e.code });
    default: {
      const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
      return status === 500 ? undefined : v(status, msg, { fastify_code: e.code });
    }
  }
}

export function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const { status, error, headers } = toHttpError(err);
  if (status >= 500) req.log.error({ err: String((err as Error)?.stack ?? err), request_id: req.id }, 'request failed');
  const body: ErrorBody = { error, request_id: String(req.id) };
  return reply.code(status).headers(headers).type('application/json').send(body);
}

export function notFound(what: string, details?: Record<string, unknown>): GuestkitError {
  return new GuestkitError('NOT_FOUND', what, { phase: 'validation', details });
}

export function invalidState(what: string, details?: Record<string, unknown>): GuestkitError {
  return new GuestkitError('INVALID_STATE', what, { phase: 'validation', details });
}

export function badRequest(what: string, details?: Record<string, unknown>): GuestkitError {
  return new GuestkitError('VALIDATION_ERROR', what, { phase: 'validation', details });
}
