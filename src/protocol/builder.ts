import { JOB_KIND, JOB_SCHEMA_URL, PROTOCOL_VERSION, type JobDocument, type JsonValue } from './envelope.js';
import type { ImageFormatName } from './payloads/image.js';
import { nowTimestamp } from './timestamp.js';
import { validateDocument, validationError } from './validate.js';

import { newJobId } from './job-id.js';

export { newJobId };

type Obj = Record<string, unknown>;

/**
 * Fluent job construction:
 * `job('guestkit.inspect').image('/vms/a.qcow2').priority(7).build()`.
 * build() validates envelope and payload and throws VALIDATION_ERROR listing every problem.
 */
export class JobBuilder {
  #jobId?: string;
  #createdAt?: string;
  #payloadType?: string;
  #image?: { path: string; format: string };
  #data: Obj | JsonValue | undefined;
  readonly #metadata: Obj = {};
  readonly #labels: Record<string, string> = {};
  readonly #annotations: Record<string, string> = {};
  readonly #execution: Obj = {};
  readonly #constraints: Obj = {};
  readonly #routing: Obj = {};
  #observability?: Obj;
  #audit?: Obj;

  constructor(readonly operation: string) {}

  jobId(id: string): this {
    this.#jobId = id;
    return this;
  }
  createdAt(t: Date | string): this {
    this.#createdAt = typeof t === 'string' ? t : nowTimestamp(t);
    return this;
  }
  /** Defaults to `<operation>.v1`. */
  payloadType(type: string): this {
    this.#payloadType = type;
    return this;
  }
  /** The disk image (`data.image`; `data.source` for guestkit.convert); format defaults to `auto`. */
  image(path: string, format: ImageFormatName | (string & {}) = 'auto'): this {
    this.#image = { path, format };
    return this;
  }
  /** payload.data; keys set by image() win over the same keys here. */
  data(data: Obj | JsonValue): this {
    this.#data = data;
    return this;
  }
  name(name: string): this {
    this.#metadata.name = name;
    return this;
  }
  namespace(ns: string): this {
    this.#metadata.namespace = ns;
    return this;
  }
  label(key: string, value: string): this {
    this.#labels[key] = value;
    return this;
  }
  annotation(key: string, value: string): this {
    this.#annotations[key] = value;
    return this;
  }
  priority(p: number): this {
    this.#execution.priority = p;
    return this;
  }
  timeout(seconds: number): this {
    this.#execution.timeout_seconds = seconds;
    return this;
  }
  maxAttempts(n: number): this {
    this.#execution.max_attempts = n;
    return this;
  }
  idempotencyKey(key: string): this {
    this.#execution.idempotency_key = key;
    return this;
  }
  deadline(t: Date | string): this {
    this.#execution.deadline = typeof t === 'string' ? t : nowTimestamp(t);
    return this;
  }
  cancellable(on: boolean): this {
    this.#execution.cancellable = on;
    return this;
  }
  requireCapability(...caps: string[]): this {
    this.#constraints.required_capabilities = [...((this.#constraints.required_capabilities as string[]) ?? []), ...caps];
    return this;
  }
  requireFeature(...features: string[]): this {
    this.#constraints.required_features = [...((this.#constraints.required_features as string[]) ?? []), ...features];
    return this;
  }
  minimumWorkerVersion(v: string): this {
    this.#constraints.minimum_worker_version = v;
    return this;
  }
  maximumDiskSizeGb(gb: number): this {
    this.#constraints.maximum_disk_size_gb = gb;
    return this;
  }
  allowedPools(...pools: string[]): this {
    this.#constraints.allowed_worker_pools = pools;
    return this;
  }
  /** routing.worker_pool */
  pool(pool: string): this {
    this.#routing.worker_pool = pool;
    return this;
  }
  /** routing.worker_id */
  worker(id: string): this {
    this.#routing.worker_id = id;
    return this;
  }
  observability(obs: { trace_id?: string; span_id?: string; parent_span_id?: string; correlation_id?: string }): this {
    this.#observability = { ...obs };
    return this;
  }
  audit(audit: { submitted_by?: string; submitted_from?: string; authorization?: { method: string; subject: string } }): this {
    this.#audit = { ...audit };
    return this;
  }

  /** The document as built, not validated. */
  toDocument(): Obj {
    const doc: Obj = {
      $schema: JOB_SCHEMA_URL,
      version: PROTOCOL_VERSION,
      job_id: this.#jobId ?? newJobId(),
      created_at: this.#createdAt ?? nowTimestamp(),
      kind: JOB_KIND,
      operation: this.operation,
    };
    const meta: Obj = { ...this.#metadata };
    if (Object.keys(this.#labels).length) meta.labels = { ...this.#labels };
    if (Object.keys(this.#annotations).length) meta.annotations = { ...this.#annotations };
    if (Object.keys(meta).length) doc.metadata = meta;
    doc.execution = { ...this.#execution };
    if (Object.keys(this.#constraints).length) doc.constraints = { ...this.#constraints };
    if (Object.keys(this.#routing).length) doc.routing = { ...this.#routing };
    let data: unknown = this.#data ?? {};
    if (this.#image) {
      const key = this.operation === 'guestkit.convert' ? 'source' : 'image';
      const base = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Obj) : {};
      const prev = typeof base[key] === 'object' && base[key] !== null ? (base[key] as Obj) : {};
      data = { ...base, [key]: { ...prev, ...this.#image } };
    }
    doc.payload = { type: this.#payloadType ?? `${this.operation}.v1`, data };
    if (this.#observability) doc.observability = this.#observability;
    if (this.#audit) doc.audit = this.#audit;
    return doc;
  }

  /** A valid job (defaults filled in) or a VALIDATION_ERROR with every problem in details.errors. */
  build(): JobDocument {
    const res = validateDocument(this.toDocument());
    if (!res.ok || !res.job) throw validationError(res.errors, 'cannot build job');
    return res.job;
  }
}

export function job(operation: string): JobBuilder {
  return new JobBuilder(operation);
}
