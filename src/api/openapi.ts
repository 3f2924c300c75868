import { z } from 'zod';
import { ERROR_CODES } from '../protocol/errors.js';
import { jsonSchema } from '../protocol/json-schema.js';
import { JOB_STATUSES } from '../protocol/status.js';
import { ECOSYSTEMS } from '../versions/index.js';
import { APP_SOURCES, SOURCE_FILTERS } from '../ports/inventory.js';

/** API shapes beyond the protocol documents, as zod (the OpenAPI document is generated from them). */
const Time = z.string().meta({ format: 'date-time' });
const ProtocolErrorSchema = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  phase: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  recoverable: z.boolean(),
  retry_recommended: z.boolean(),
});
const ErrorBodySchema = z.object({ error: ProtocolErrorSchema, request_id: z.string() });
const AttemptSchema = z.object({ attempt: z.int(), worker_id: z.string(), status: z.string(), error_code: z.string().nullable(), started_at: Time, finished_at: Time.nullable() });
const HoldSchema = z.object({ kind: z.enum(['dependencies', 'capacity']), reason: z.string() });
const TreeNodeSchema: z.ZodType = z.lazy(() =>
  z.object({
    job_id: z.string(),
    status: z.enum(JOB_STATUSES),
    operation: z.string(),
    hold: HoldSchema.nullable(),
    error_code: z.string().nullable(),
    children: z.array(TreeNodeSchema).optional(),
    truncated: z.boolean().optional(),
  }),
);
const JobTreeSchema = z.object({
  job_id: z.string(),
  status: z.enum(JOB_STATUSES),
  operation: z.string(),
  hold: HoldSchema.nullable(),
  error_code: z.string().nullable(),
  parents: z.array(TreeNodeSchema).meta({ description: 'the jobs it waits for, and theirs (children = their parents)' }),
  dependants: z.array(TreeNodeSchema).meta({ description: 'the jobs that wait for it, and theirs (children = their dependants)' }),
});
const JobViewSchema = z.object({
  job_id: z.string(),
  status: z.enum(JOB_STATUSES),
  operation: z.string(),
  namespace: z.string(),
  labels: z.record(z.string(), z.string()),
  name: z.string().nullable(),
  image_path: z.string().nullable(),
  priority: z.int(),
  attempt: z.int(),
  max_attempts: z.int(),
  worker_id: z.string().nullable(),
  source: z.string().nullable(),
  queued_at: Time,
  started_at: Time.nullable(),
  finished_at: Time.nullable(),
  updated_at: Time,
  error_code: z.string().nullable(),
  hold: HoldSchema.nullable().meta({ description: 'accepted but not queued: waiting for its parents (dependencies) or for a worker that can run it (capacity)' }),
  depends_on: z.array(z.string()).meta({ description: 'the jobs it waits for (execution.depends_on)' }),
  job: z.object({}).loose().optional().meta({ description: 'the job document (see #/components/schemas/Job)' }),
  attempts: z.array(AttemptSchema).optional(),
});
const WorkerViewSchema = z.object({
  worker_id: z.string(),
  state: z.string(),
  live: z.boolean(),
  current_jobs: z.int(),
  max_concurrent: z.int().nullable(),
  pool: z.string().nullable(),
  version: z.string(),
  hostname: z.string(),
  registered_at: Time,
  last_heartbeat: Time,
  capabilities: z.unknown(),
});
const UsageFigures = { jobs: z.int(), cpu_seconds: z.number(), wall_seconds: z.number(), bytes_read: z.int(), image_bytes: z.int(), peak_memory_mb: z.number(), cost: z.number() };
const UsageSchema = z.object({
  groups: z.array(z.object({ key: z.string(), ...UsageFigures })),
  totals: z.object(UsageFigures),
  prices: z.object({ cpu_second: z.number(), gib_read: z.number(), currency: z.string() }),
});
const PercentilesSchema = z.object({ n: z.int(), p50: z.number().nullable(), p90: z.number().nullable(), p99: z.number().nullable() }).meta({ description: 'seconds; null when n = 0' });
const StatsRange = { namespace: z.string().nullable(), from: Time, to: Time, bucket_seconds: z.int() };
const StatusCountsSchema = z.object({ counts: z.object(Object.fromEntries(JOB_STATUSES.map((s) => [s, z.int()]))), total: z.int() });
const ThroughputSchema = z.object({ ...StatsRange, points: z.array(z.object({ at: Time, completed: z.int(), failed: z.int(), cancelled: z.int(), timeout: z.int() })) });
const LatencySchema = z.object({ ...StatsRange, wait: PercentilesSchema, run: PercentilesSchema, points: z.array(z.object({ at: Time, wait: PercentilesSchema, run: PercentilesSchema })) });
const NamespaceUsageSchema = z.object({
  namespace: z.string().nullable(),
  window: z.enum(['24h', '7d', '30d']).nullable(),
  from: Time,
  to: Time,
  groups: z.array(z.object({ namespace: z.string(), ...UsageFigures })),
  totals: z.object(UsageFigures),
  prices: z.object({ cpu_second: z.number(), gib_read: z.number(), currency: z.string() }),
});
const BulkRequestSchema = z.object({ action: z.enum(['cancel', 'retry', 'delete']), ids: z.array(z.string().min(1).max(255)).min(1).max(1000) });
const BulkAnswerSchema = z.object({
  action: z.enum(['cancel', 'retry', 'delete']),
  results: z.array(
    z.union([
      z.object({ job_id: z.string(), ok: z.literal(true), status: z.int(), outcome: z.enum(['cancelled', 'cancelling']).optional(), new_job_id: z.string().optional() }),
      z.object({ job_id: z.string(), ok: z.literal(false), status: z.int(), error: ProtocolErrorSchema }),
    ]),
  ),
  summary: z.object({ ok: z.int(), failed: z.int() }),
});
const AuditEntrySchema = z.object({
  seq: z.int(),
  at: Time,
  actor: z.string(),
  role: z.string(),
  namespace: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  source_ip: z.string().nullable(),
  outcome: z.enum(['ok', 'denied', 'error']),
  status: z.int(),
  prev_hash: z.string(),
  hash: z.string(),
});
const InventoryImageFields = {
  image_path: z.string(),
  namespace: z.string(),
  job_id: z.string().meta({ description: 'the latest completed guestkit.inspect job of the image: the facts come from its result' }),
  finished_at: Time,
  os: z
    .object({
      distro: z.string(),
      name: z.string(),
      version: z.string(),
      arch: z.string().optional(),
      hostname: z.string().optional(),
      package_format: z.string().optional(),
      ecosystem: z.enum(ECOSYSTEMS).optional(),
    })
    .nullable(),
};
const inventoryAnswer = (item: z.ZodType) =>
  z.object({ items: z.array(item), truncated: z.boolean().meta({ description: 'more matched than limit' }), warnings: z.array(z.string()) });
const InventoryImagesSchema = inventoryAnswer(z.object({ ...InventoryImageFields, packages: z.int() }));
const InventoryPackagesSchema = inventoryAnswer(
  z.object({
    ...InventoryImageFields,
    package: z.object({
      source: z.enum(APP_SOURCES).meta({ description: 'package: a distro package; snap, flatpak, container: software beside the package manager (other_applications)' }),
      name: z.string().meta({ description: 'containers: the repository as the engine stores it (Docker keeps Docker Hub names short), or the image id of an untagged image' }),
      version: z.string().meta({ description: 'packages: [epoch:]version[-release] as the package manager prints it; snaps and flatpaks: their version; containers: the tag; empty when none' }),
      arch: z.string(),
      ecosystem: z.enum(ECOSYSTEMS).nullable().meta({ description: 'null for snaps, flatpaks and containers (no version order)' }),
      source_package: z.string().optional(),
      engine: z.string().optional().meta({ description: 'container: docker, podman or containerd' }),
      repository: z.string().optional(),
      tag: z.string().optional(),
      digest: z.string().optional().meta({ description: 'container: the manifest digest (sha256:…)' }),
      image_id: z.string().optional().meta({ description: 'container: the config digest (sha256:…)' }),
      size: z.number().optional().meta({ description: 'container: bytes, as the engine counts them' }),
      store: z.string().optional().meta({ description: "container: the store's root in the guest" }),
      revision: z.string().optional().meta({ description: 'snap' }),
      channel: z.string().optional().meta({ description: 'snap' }),
      ref: z.string().optional().meta({ description: 'flatpak: app/ID/ARCH/BRANCH' }),
      origin: z.string().optional().meta({ description: 'flatpak: the remote' }),
      installation: z.string().optional().meta({ description: 'flatpak: system, or the per-user installation path' }),
    }),
  }),
);

const InventoryVulnerabilitiesSchema = z.object({
  id: z.string(),
  advisories: z.array(z.string()).meta({ description: 'advisories with that id or naming that CVE' }),
  packages: z.array(z.string()).meta({ description: 'the package names (binary or source) they affect' }),
  affected: z.array(
    z.object({
      image_path: z.string(),
      namespace: z.string(),
      job_id: z.string(),
      finished_at: Time,
      findings: z.array(z.looseObject({ advisory: z.string(), package: z.string(), installed_version: z.string(), range: z.string() })).meta({ description: 'as guestkit vulns reports them' }),
    }),
  ),
  unchecked: z.array(z.object({ image_path: z.string(), namespace: z.string(), job_id: z.string(), state: z.string(), message: z.string().optional() })).meta({ description: 'images with the package whose OS could not be matched (no advisories for it, stale data)' }),
  truncated: z.boolean(),
  warnings: z.array(z.string()),
});

const API_SCHEMAS: Record<string, z.ZodType> = {
  ErrorBody: ErrorBodySchema,
  JobView: JobViewSchema,
  JobTree: JobTreeSchema,
  JobTreeNode: TreeNodeSchema,
  WorkerView: WorkerViewSchema,
  Usage: UsageSchema,
  AuditEntry: AuditEntrySchema,
  StatusCounts: StatusCountsSchema,
  Throughput: ThroughputSchema,
  Latency: LatencySchema,
  NamespaceUsage: NamespaceUsageSchema,
  BulkRequest: BulkRequestSchema,
  BulkAnswer: BulkAnswerSchema,
  InventoryImages: InventoryImagesSchema,
  InventoryPackages: InventoryPackagesSchema,
  InventoryVulnerabilities: InventoryVulnerabilitiesSchema,
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const errors = Object.fromEntries(
  [
    ['400', 'validation error (details.issues lists each problem with its JSON path)'],
    ['401', 'token missing, malformed, unknown, revoked or expired'],
    ['403', 'the token’s role may not do this'],
    ['404', 'no such job in the caller’s namespace'],
    ['503', 'the job store cannot take writes; nothing was accepted'],
  ].map(([code, description]) => [code, { description, ...json(ref('ErrorBody')) }]),
);
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const q = (name: string, description: string, schema: unknown = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
// version bounds of the inventory, compared in each image's ecosystem order
const versionParams = (['lt', 'le', 'gt', 'ge', 'eq'] as const).map((op) => q(`version_${op}`, `installed version ${{ lt: '<', le: '<=', gt: '>', ge: '>=', eq: '=' }[op]} this, in the image's ecosystem order (dpkg, rpm, apk, pacman)`));
const sourceParam = q('source', 'where to look: package (distro packages, default), snap, flatpak, container, or any; version_* bounds need package', { type: 'string', enum: [...SOURCE_FILTERS] });
const page = (item: string) => ({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref(item) }, next: { type: 'string' } } });

/** The OpenAPI 3.1 document of /api/v1, from the protocol's and the API's zod schemas. */
export function buildOpenApi(version: string): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(API_SCHEMAS)) {
    const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
    schemas[name] = rest;
  }
  for (const [name, key] of [['Job', 'job'], ['JobResult', 'result'], ['ProgressEvent', 'progress'], ['WorkerRegistration', 'worker']] as const) {
    const { $schema: _drop, $id: _id, ...rest } = jsonSchema(key);
    schemas[name] = rest;
  }
  const submitBody = { oneOf: [ref('Job'), { type: 'object', required: ['jobs'], properties: { jobs: { type: 'array', maxItems: 1000, items: ref('Job') } } }] };
  return {
    openapi: '3.1.0',
    info: { title: 'guestkit API', version, description: 'Submit and follow VM disk inspection jobs. See docs/api.md.' },
    servers: [{ url: '/api/v1' }],
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths: {
      '/jobs': {
        post: {
          summary: 'Submit one job or a batch of up to 1,000',
          parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } }],
          requestBody: { required: true, ...json(submitBody) },
          responses: {
            '202': { description: 'accepted (durably pending)', ...json({ oneOf: [{ type: 'object', properties: { job: ref('JobView') } }, { type: 'object', properties: { jobs: { type: 'array', items: ref('JobView') } } }] }) },
            '409': { description: 'job id taken, or idempotency key used for a different request', ...json(ref('ErrorBody')) },
            '413': { description: 'body too large', ...json(ref('ErrorBody')) },
            '415': { description: 'not application/json', ...json(ref('ErrorBody')) },
            '429': { description: 'namespace quota exceeded (Retry-After)', ...json(ref('ErrorBody')) },
            ...errors,
          },
        },
        get: {
          summary: 'List jobs, newest first',
          parameters: [
            q('status', 'comma-separated statuses'),
            q('operation', 'operation name'),
            q('namespace', 'admins only; others see their own'),
            q('labels', 'label selector: env=prod,tier!=db,team'),
            q('image_prefix', 'image path prefix'),
            q('q', 'text search over id, name, labels, image path'),
            q('from', 'queued at or after (RFC 3339)', { type: 'string', format: 'date-time' }),
            q('to', 'queued before (RFC 3339)', { type: 'string', format: 'date-time' }),
            q('limit', '1..1000, default 100', { type: 'integer', minimum: 1, maximum: 1000 }),
            q('cursor', 'the previous page’s next'),
            q('include', '"job" to include documents'),
          ],
          responses: { '200': { description: 'a page', ...json(page('JobView')) }, ...errors },
        },
      },
      '/jobs/{id}': {
        get: { summary: 'One job with its attempts', parameters: [idParam], responses: { '200': { description: 'the job', ...json(ref('JobView')) }, ...errors } },
        delete: { summary: 'Delete a finished job and its result', parameters: [idParam], responses: { '204': { description: 'deleted' }, '409': { description: 'still active', ...json(ref('ErrorBody')) }, ...errors } },
      },
      '/jobs/{id}/tree': {
        get: {
          summary: 'Its dependency tree: the jobs it waits for (execution.depends_on) and the jobs that wait for it, 10 levels and 500 jobs at most',
          parameters: [idParam],
          responses: { '200': { description: 'the tree', ...json(ref('JobTree')) }, ...errors },
        },
      },
      '/jobs/{id}/result': { get: { summary: 'The result document', parameters: [idParam], responses: { '200': { description: 'result', ...json(ref('JobResult')) }, ...errors } } },
      '/jobs/{id}/events': {
        get: {
          summary: 'Progress: server-sent events (Accept: text/event-stream; Last-Event-ID resumes), or the stored events',
          parameters: [idParam, q('after', 'resume after this sequence', { type: 'integer' }), q('format', '"jsonl" for JSON lines')],
          responses: { '200': { description: 'events', content: { 'text/event-stream': { schema: { type: 'string' } }, 'application/json': { schema: page('ProgressEvent') } } }, ...errors },
        },
      },
      '/jobs/{id}/cancel': { post: { summary: 'Cancel a waiting or running job', parameters: [idParam], responses: { '202': { description: 'cancelled or cancelling' }, '409': { description: 'already ended', ...json(ref('ErrorBody')) }, ...errors } } },
      '/jobs/{id}/retry': { post: { summary: 'Run a failed, timed-out or cancelled job again as a new job', parameters: [idParam], responses: { '202': { description: 'the new job', ...json({ type: 'object', properties: { job: ref('JobView') } }) }, '409': { description: 'not retryable', ...json(ref('ErrorBody')) }, ...errors } } },
      '/jobs/bulk': {
        post: {
          summary: 'Cancel, retry or delete up to 1,000 jobs; each as its single-job route would (rules, audit), answered per id',
          requestBody: { required: true, ...json(ref('BulkRequest')) },
          responses: { '200': { description: 'one outcome per id, in order', ...json(ref('BulkAnswer')) }, ...errors },
        },
      },
      '/events': {
        get: {
          summary: 'Server-sent events of job status changes (submitted, started, retrying, finished) in the caller’s namespace (admins: all)',
          parameters: [q('namespace', 'admins only; others get theirs')],
          responses: { '200': { description: 'event: status, data: {change, job_id, status, namespace, operation, name, at, …}', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors },
        },
      },
      '/stats/counts': {
        get: {
          summary: 'How many jobs match the list’s filters, per status',
          parameters: [q('status', 'comma-separated statuses'), q('operation', 'operation name'), q('namespace', 'admins only'), q('labels', 'label selector'), q('image_prefix', 'image path prefix'), q('q', 'text search'), q('from', 'queued at or after', { type: 'string', format: 'date-time' }), q('to', 'queued before', { type: 'string', format: 'date-time' })],
          responses: { '200': { description: 'counts', ...json(ref('StatusCounts')) }, ...errors },
        },
      },
      ...Object.fromEntries(
        (
          [
            ['/stats/throughput', 'Jobs finished per minute/hour/day by status', 'Throughput'],
            ['/stats/latency', 'Queue wait and run time percentiles (p50/p90/p99), overall and per bucket', 'Latency'],
          ] as const
        ).map(([path, summary, schema]) => [
          path,
          {
            get: {
              summary,
              parameters: [
                q('range', '1h, 6h, 24h, 7d or 30d ending now (default 1h)'),
                q('from', 'finished at or after', { type: 'string', format: 'date-time' }),
                q('to', 'finished before (default now)', { type: 'string', format: 'date-time' }),
                q('bucket', 'minute, hour or day (default: minutes up to 24 h)'),
                q('namespace', 'admins: any; others: their own'),
                q('operation', 'operation name'),
              ],
              responses: { '200': { description: 'figures', ...json(ref(schema)) }, ...errors },
            },
          },
        ]),
      ),
      '/stats/usage': {
        get: {
          summary: 'Usage and cost per namespace over 24 h, 7 d or 30 d',
          parameters: [q('window', '24h, 7d or 30d (default 24h)'), q('from', 'finished at or after', { type: 'string', format: 'date-time' }), q('to', 'finished before', { type: 'string', format: 'date-time' }), q('namespace', 'admins: any; others: their own'), q('operation', 'operation name')],
          responses: { '200': { description: 'sums per namespace', ...json(ref('NamespaceUsage')) }, ...errors },
        },
      },
      '/workers': { get: { summary: 'Registered workers', responses: { '200': { description: 'workers', ...json(page('WorkerView')) }, ...errors } } },
      '/whoami': { get: { summary: 'Who the token is: actor, role, namespace', responses: { '200': { description: 'the caller' }, ...errors } } },
      '/capabilities': { get: { summary: 'What live workers can run', responses: { '200': { description: 'union of capabilities' }, ...errors } } },
      '/usage': {
        get: {
          summary: 'Usage and cost',
          parameters: [q('namespace', 'admins: any; others: their own'), q('from', 'finished at or after', { type: 'string', format: 'date-time' }), q('to', 'finished before', { type: 'string', format: 'date-time' }), q('group_by', 'operation or day')],
          responses: { '200': { description: 'sums', ...json(ref('Usage')) }, ...errors },
        },
      },
      '/inventory/packages': {
        get: {
          summary: 'Packages installed on the images, from the latest completed inspection of each',
          parameters: [
            q('name', 'package name, binary or source; snap or flatpak name; container repository (nginx and docker.io/library/nginx alike; repo:tag for one tag) or digest / image id; several comma-separated. Required unless digest is given'),
            sourceParam,
            q('digest', 'container images with this manifest digest or image id (sha256:…); several comma-separated; implies source=container'),
            ...versionParams,
            q('os', 'os-release ID of the OS (debian, rocky, alpinelinux, …)'),
            q('namespace', 'admins: any (default all); others: their own'),
            q('limit', 'at most this many items (1–10000, default 1000)', { type: 'integer' }),
          ],
          responses: { '200': { description: 'one item per image and package', ...json(ref('InventoryPackages')) }, ...errors },
        },
      },
      '/inventory/images': {
        get: {
          summary: 'Images by their latest completed inspection',
          parameters: [
            q('package', 'only images with this package (binary or source name), or in another source its name, repository or digest'),
            { ...sourceParam, description: 'where package is looked for (with package only): package (distro packages, default), snap, flatpak, container, or any' },
            ...versionParams,
            q('os', 'os-release ID of the first OS'),
            q('namespace', 'admins: any (default all); others: their own'),
            q('limit', 'at most this many items (1–10000, default 1000)', { type: 'integer' }),
          ],
          responses: { '200': { description: 'images', ...json(ref('InventoryImages')) }, ...errors },
        },
      },
      '/inventory/vulnerabilities': {
        get: {
          summary: 'Images an advisory affects, from the latest completed inspection of each and the server’s advisory database',
          parameters: [
            { ...q('id', 'an advisory id (DSA-5532-1, DEBIAN-CVE-…, ALPINE-CVE-…) or a CVE id'), required: true },
            q('os', 'os-release ID of the OS'),
            q('namespace', 'admins: any (default all); others: their own'),
            q('limit', 'at most this many affected images (1–10000, default 1000)', { type: 'integer' }),
          ],
          responses: { '200': { description: 'affected and unchecked images', ...json(ref('InventoryVulnerabilities')) }, ...errors },
        },
      },
      '/audit': { get: { summary: 'The audit log (admins)', parameters: [q('limit', 'page size', { type: 'integer' }), q('cursor', 'next page'), q('from', 'since'), q('to', 'before')], responses: { '200': { description: 'entries', ...json(page('AuditEntry')) }, ...errors } } },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'alive' } } } },
      '/readyz': { get: { summary: 'Readiness', security: [], responses: { '200': { description: 'ready' }, '503': { description: 'not ready, with the reason' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'text exposition format' } } } },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}
