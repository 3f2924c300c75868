import { context, ROOT_CONTEXT, SpanStatusCode, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';
import { randomBytes } from 'node:crypto';

export const tracer = () => trace.getTracer('guestkit-worker');

// ids come from a pooled buffer: one randomBytes call per 256 ids instead of one per id
let pool = Buffer.alloc(0);
let poolAt = 0;
function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  const out = pool.toString('hex', poolAt, poolAt + bytes);
  poolAt += bytes;
  return out;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/** A job's trace id as W3C hex (UUIDs lose their dashes); undefined when it cannot be one. */
export function w3cTraceId(id: string | null | undefined): string | undefined {
  if (!id) return undefined;
  const hex = id.replace(/-/g, '').toLowerCase();
  return HEX32.test(hex) && !/^0+$/.test(hex) ? hex : undefined;
}

/**
 * The parent context of a job's span: the job's observability.trace_id (and its span id
 * when it is a valid 16-hex id) as a remote parent, so the worker's spans continue the
 * submitter's trace. With no SDK registered the API is a no-op, yet span contexts still
 * carry that trace id into logs and results.
 */
export function jobParentContext(obs: { trace_id?: string | null; span_id?: string | null } | null | undefined): Context {
  // a job without a trace id still gets one, so its log lines and spans correlate
  const traceId = w3cTraceId(obs?.trace_id) ?? randomHex(16);
  const s = (obs?.span_id ?? '').toLowerCase();
  const spanId = HEX16.test(s) ? s : randomHex(8);
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
}

export function startSpan(name: string, parent: Context, attributes: Record<string, string | number | boolean> = {}): Span {
  return tracer().startSpan(name, { attributes }, parent);
}

export function endSpan(span: Span, error?: { code: string; message: string }): void {
  if (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${error.message}` });
    span.setAttribute('guestkit.error.code', error.code);
  }
  span.end();
}

export function spanContextOf(span: Span, parent: Context): Context {
  return trace.setSpan(parent, span);
}

export { context };

/** Flushes and stops the OTLP exporter, when one was registered (spans still in the batch are sent). */
let stopExport: (() => Promise<void>) | undefined;

/**
 * Registers an OTLP/HTTP exporter when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces endpoint) is
 * set; otherwise spans stay no-ops and nothing is sent. The SDK is loaded only then. The
 * exporter reads the standard OTEL_* variables (headers, batch delay). Returns what happened.
 */
export async function setupTracingExport(serviceName: string): Promise<string> {
  if (!process.env.OTEL_EXPORTER_OTLP_ENDPOINT && !process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return 'disabled';
  try {
    const sdk = await import('@opentelemetry/sdk-trace-node');
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    const { resourceFromAttributes } = await import('@opentelemetry/resources');
    const processor = new sdk.BatchSpanProcessor(new OTLPTraceExporter());
    const provider = new sdk.NodeTracerProvider({ spanProcessors: [processor], resource: resourceFromAttributes({ 'service.name': serviceName }) });
    provider.register();
    stopExport = () => provider.shutdown();
    return 'otlp';
  } catch (err) {
    return `unavailable (${(err as Error).message.split('\n')[0]})`;
  }
}

export async function shutdownTracingExport(): Promise<void> {
  const stop = stopExport;
  stopExport = undefined;
  await stop?.().catch(() => undefined);
}
