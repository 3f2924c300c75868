import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ExecutionSchema, MetadataSchema } from '../../../src/protocol/envelope';
import { fromZodIssues, plainErrorMap } from '../../../src/protocol/issues';
import { IMAGE_FORMATS } from '../../../src/protocol/payloads/image';
import { INSPECT_OPTION_DEFAULTS } from '../../../src/protocol/payloads/inspect-options';
import { MIGRATION_TARGETS, PROFILE_KINDS, SEVERITIES } from '../../../src/protocol/payloads/profile';
import { validatePayload } from '../../../src/protocol/validate';
import { ApiError, get, request } from '../api';
import { jobPath, navigate } from '../router';
import { session } from '../session';
import type { Capabilities, JobView } from '../types';
import { PageTitle } from '../ui';

/** Operations this form knows the options of. */
const FORM_OPERATIONS = ['guestkit.inspect', 'guestkit.profile'] as const;
type Op = (typeof FORM_OPERATIONS)[number];

const OPTION_LABELS: Record<keyof typeof INSPECT_OPTION_DEFAULTS, string> = {
  include_packages: 'Packages, kernels and boot loader',
  include_services: 'Init system and services',
  include_users: 'Users and groups',
  include_network: 'Network configuration',
  include_security: 'SELinux, AppArmor and sshd settings',
  include_storage: 'fstab and crypttab details',
  include_databases: 'Databases',
  deep_scan: 'Deep scan',
};

/** Which field shows an issue: the longest field path that begins the issue's path. */
const FIELD_PATHS: [string, string][] = [
  ['payload.data.image.path', 'image-path'],
  ['payload.data.image.format', 'image-format'],
  ['payload.data.image', 'image-path'],
  ['payload.data.options.severity_threshold', 'severity'],
  ['payload.data.options.target', 'target'],
  ['payload.data.options', 'options'],
  ['payload.data.profiles', 'profiles'],
  ['payload.type', 'operation'],
  ['operation', 'operation'],
  ['metadata.name', 'name'],
  ['metadata.namespace', 'namespace'],
  ['metadata.labels', 'labels'],
  ['execution.priority', 'priority'],
  ['execution.max_attempts', 'max-attempts'],
  ['execution.attempt', 'max-attempts'],
  ['execution.timeout_seconds', 'timeout'],
];

const FIELD_NAMES: Record<string, string> = {
  'image-path': 'Image path',
  'image-format': 'Image format',
  operation: 'Operation',
  name: 'Name',
  namespace: 'Namespace',
  labels: 'Labels',
  priority: 'Priority',
  'max-attempts': 'Attempts',
  timeout: 'Timeout',
  options: 'What to read',
  profiles: 'Profiles',
  target: 'Migration target',
  severity: 'Severity threshold',
  form: 'The job',
};

export function fieldOf(path: string): string {
  const p = path.replace(/^\$\.?/, '').replace(/^jobs\[\d+\]\.?/, '');
  for (const [prefix, field] of FIELD_PATHS) if (p === prefix || p.startsWith(`${prefix}.`) || p.startsWith(`${prefix}[`)) return field;
  return 'form';
}

interface Form {
  operation: Op;
  imagePath: string;
  imageFormat: string;
  name: string;
  namespace: string;
  labels: string;
  priority: string;
  maxAttempts: string;
  timeout: string;
  options: Record<string, boolean>;
  profiles: string[];
  severity: string;
  /** The migration profile's platform. */
  target: string;
}

type Errors = Record<string, string[]>;

/** "env=prod, team=a" → a label map; problems go to `bad`. */
function parseLabels(text: string, bad: (m: string) => void): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const parts = text.split(/[,\n]/).map((s) => s.trim()).filter(Boolean);
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq <= 0) bad(`"${p}" is not key=value`);
    else out[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
  }
  return parts.length ? out : undefined;
}

const num = (s: string): number | string | undefined => (s.trim() === '' ? undefined : Number.isFinite(Number(s)) ? Number(s) : s);

/** The job document the form describes, and every problem the protocol's own schemas find in it. */
export function buildJob(f: Form): { doc: Record<string, unknown>; errors: Errors } {
  const errors: Errors = {};
  const add = (field: string, m: string) => (errors[field] ??= []).push(m);
  const data: Record<string, unknown> = { image: { path: f.imagePath.trim(), format: f.imageFormat } };
  if (f.operation === 'guestkit.inspect') data.options = { ...f.options };
  else {
    data.profiles = f.profiles;
    const options: Record<string, unknown> = {};
    if (f.severity) options.severity_threshold = f.severity;
    if (f.profiles.includes('migration')) options.target = f.target;
    if (Object.keys(options).length) data.options = options;
  }
  const metadata: Record<string, unknown> = {};
  if (f.name.trim()) metadata.name = f.name.trim();
  if (f.namespace.trim()) metadata.namespace = f.namespace.trim();
  const labels = parseLabels(f.labels, (m) => add('labels', m));
  if (labels) metadata.labels = labels;
  const execution: Record<string, unknown> = {};
  for (const [k, v] of [
    ['priority', f.priority],
    ['max_attempts', f.maxAttempts],
    ['timeout_seconds', f.timeout],
  ] as const) {
    const n = num(v);
    if (n !== undefined) execution[k] = n;
  }
  const doc = { version: '1.0', kind: 'VMOperation', operation: f.operation, metadata, execution, payload: { type: `${f.operation}.v1`, data } };
  const issues = [
    ...validatePayload(doc).errors,
    ...fromZodIssues(ExecutionSchema.safeParse(execution, { error: plainErrorMap }).error?.issues ?? [], 'execution'),
    ...fromZodIssues(MetadataSchema.safeParse(metadata, { error: plainErrorMap }).error?.issues ?? [], 'metadata'),
  ];
  for (const i of issues) add(fieldOf(i.path), i.message);
  if (!f.imagePath.trim()) errors['image-path'] = ['is required: the disk image to read'];
  else if (!f.imagePath.trim().startsWith('/')) add('image-path', 'must be an absolute path (the server reads it, under its --allow-path roots)');
  return { doc, errors };
}

export function SubmitPage() {
  const [caps, setCaps] = useState<Capabilities | null>(null);
  const [f, setF] = useState<Form>({
    operation: 'guestkit.inspect',
    imagePath: '',
    imageFormat: 'auto',
    name: '',
    namespace: '',
    labels: '',
    priority: '',
    maxAttempts: '',
    timeout: '',
    options: { ...INSPECT_OPTION_DEFAULTS },
    profiles: ['security'],
    severity: '',
    target: 'kvm',
  });
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  useEffect(() => {
    get<Capabilities>('/capabilities').then(setCaps, () => undefined);
  }, []);
  if (!session.can('submitter')) {
    return (
      <div>
        <PageTitle>Submit a job</PageTitle>
        <p class="alert info">Your token is a viewer token: it may read jobs but not submit them.</p>
      </div>
    );
  }
  const ops = FORM_OPERATIONS.filter((o) => !caps || caps.operations.includes(o) || caps.live_workers === 0);
  const set = <K extends keyof Form>(k: K, v: Form[K]) => setF((old) => ({ ...old, [k]: v }));

  function showErrors(e: Errors) {
    setErrors(e);
    const first = Object.keys(e)[0];
    if (first) setTimeout(() => document.getElementById(first === 'form' ? 'submit-errors' : first === 'options' || first === 'profiles' ? `${first}-0` : first)?.focus(), 0);
  }

  async function submit(e: Event) {
    e.preventDefault();
    setFormError(null);
    const { doc, errors: local } = buildJob(f);
    if (Object.keys(local).length) return showErrors(local);
    setBusy(true);
    try {
      const r = await request<{ job: JobView }>('POST', '/jobs', doc);
      navigate(jobPath(r.job.job_id));
    } catch (err) {
      if (err instanceof ApiError) {
        const server: Errors = {};
        const issues = err.issues.length ? err.issues : typeof err.details.field === 'string' ? [{ path: err.details.field, message: err.message.replace(/^[^:]*:\s*/, '') }] : [];
        for (const i of issues) (server[fieldOf(i.path)] ??= []).push(i.message);
        if (issues.length === 0) setFormError(`${err.code}: ${err.message}`);
        showErrors(server);
      } else setFormError(String(err));
    } finally {
      setBusy(false);
    }
  }

  const all = Object.entries(errors);
  return (
    <div>
      <PageTitle sub="The form is checked with the protocol's own schemas before it is sent; the server checks it again (paths, quotas).">Submit a job</PageTitle>
      <form class="card submit" onSubmit={submit} noValidate aria-describedby={all.length ? 'submit-errors' : undefined}>
        {(all.length > 0 || formError) && (
          <div id="submit-errors" class="alert error" role="alert" tabIndex={-1}>
            <strong>The job was not submitted.</strong>
            <ul>
              {formError && <li>{formError}</li>}
              {all.map(([field, ms]) => (
                <li key={field}>
                  <a href={`#${field === 'options' || field === 'profiles' ? `${field}-0` : field}`}>{FIELD_NAMES[field] ?? field}</a>: {ms.join('; ')}
                </li>
              ))}
            </ul>
          </div>
        )}
        <Field id="operation" label="Operation" errors={errors}>
          <select id="operation" value={f.operation} onChange={(e) => set('operation', (e.target as HTMLSelectElement).value as Op)} aria-invalid={errors.operation ? 'true' : undefined} aria-describedby={errors.operation ? 'operation-err' : undefined}>
            {ops.map((o) => (
              <option key={o} value={o}>
                {o === 'guestkit.inspect' ? 'Inspect (guestkit.inspect)' : 'Profile (guestkit.profile)'}
              </option>
            ))}
          </select>
        </Field>
        <div class="row">
          <Field id="image-path" label="Image path" errors={errors} help="An absolute path on the server, e.g. /data/images/web-01.qcow2" grow>
            <input id="image-path" name="image-path" value={f.imagePath} onInput={(e) => set('imagePath', (e.target as HTMLInputElement).value)} spellcheck={false} autoComplete="off" {...aria('image-path', errors, true)} />
          </Field>
          <Field id="image-format" label="Image format" errors={errors}>
            <select id="image-format" value={f.imageFormat} onChange={(e) => set('imageFormat', (e.target as HTMLSelectElement).value)} {...aria('image-format', errors)}>
              {IMAGE_FORMATS.map((x) => (
                <option key={x} value={x}>
                  {x === 'auto' ? 'detect (auto)' : x}
                </option>
              ))}
            </select>
          </Field>
        </div>
        {f.operation === 'guestkit.inspect' ? (
          <fieldset class="field" aria-describedby={errors.options ? 'options-err' : undefined}>
            <legend>What to read</legend>
            <div class="checks">
              {Object.keys(INSPECT_OPTION_DEFAULTS).map((k, i) => (
                <label key={k} class="check-label">
                  <input id={i === 0 ? 'options-0' : undefined} type="checkbox" checked={!!f.options[k]} onChange={() => set('options', { ...f.options, [k]: !f.options[k] })} /> {OPTION_LABELS[k as keyof typeof OPTION_LABELS] ?? k}
                </label>
              ))}
            </div>
            <FieldErrors id="options" errors={errors} />
          </fieldset>
        ) : (
          <>
            <fieldset class="field" aria-describedby={errors.profiles ? 'profiles-err' : undefined}>
              <legend>Profiles</legend>
              <div class="checks">
                {PROFILE_KINDS.map((k, i) => (
                  <label key={k} class="check-label">
                    <input id={i === 0 ? 'profiles-0' : undefined} type="checkbox" checked={f.profiles.includes(k)} onChange={() => set('profiles', f.profiles.includes(k) ? f.profiles.filter((p) => p !== k) : [...f.profiles, k])} /> {k}
                  </label>
                ))}
              </div>
              <FieldErrors id="profiles" errors={errors} />
            </fieldset>
            {f.profiles.includes('migration') && (
              <Field id="target" label="Migration target" errors={errors} help="The platform the migration profile judges readiness for">
                <select id="target" value={f.target} onChange={(e) => set('target', (e.target as HTMLSelectElement).value)} {...aria('target', errors, true)}>
                  {MIGRATION_TARGETS.map((t) => (
                    <option key={t} value={t}>
                      {t}
                    </option>
                  ))}
                </select>
              </Field>
            )}
            <Field id="severity" label="Severity threshold" errors={errors}>
              <select id="severity" value={f.severity} onChange={(e) => set('severity', (e.target as HTMLSelectElement).value)} {...aria('severity', errors)}>
                <option value="">all findings</option>
                {SEVERITIES.map((s) => (
                  <option key={s} value={s}>
                    {s} and above
                  </option>
                ))}
              </select>
            </Field>
          </>
        )}
        <details class="more" open={['name', 'labels', 'priority', 'max-attempts', 'timeout', 'namespace'].some((k) => errors[k])}>
          <summary>Name, labels and execution</summary>
          <div class="row">
            <Field id="name" label="Name" errors={errors} grow>
              <input id="name" value={f.name} onInput={(e) => set('name', (e.target as HTMLInputElement).value)} {...aria('name', errors)} />
            </Field>
            {session.can('admin') && (
              <Field id="namespace" label="Namespace" errors={errors} help="Admins only; others submit to their token's">
                <input id="namespace" value={f.namespace} onInput={(e) => set('namespace', (e.target as HTMLInputElement).value)} placeholder="default" {...aria('namespace', errors, true)} />
              </Field>
            )}
          </div>
          <Field id="labels" label="Labels" errors={errors} help="key=value, separated by commas: env=prod, team=web">
            <input id="labels" value={f.labels} onInput={(e) => set('labels', (e.target as HTMLInputElement).value)} {...aria('labels', errors, true)} />
          </Field>
          <div class="row">
            <Field id="priority" label="Priority (1–10)" errors={errors} help="5 when empty; 10 runs first">
              <input id="priority" inputMode="numeric" value={f.priority} onInput={(e) => set('priority', (e.target as HTMLInputElement).value)} {...aria('priority', errors, true)} />
            </Field>
            <Field id="max-attempts" label="Attempts" errors={errors} help="1 when empty">
              <input id="max-attempts" inputMode="numeric" value={f.maxAttempts} onInput={(e) => set('maxAttempts', (e.target as HTMLInputElement).value)} {...aria('max-attempts', errors, true)} />
            </Field>
            <Field id="timeout" label="Timeout (seconds)" errors={errors} help="3600 when empty">
              <input id="timeout" inputMode="numeric" value={f.timeout} onInput={(e) => set('timeout', (e.target as HTMLInputElement).value)} {...aria('timeout', errors, true)} />
            </Field>
          </div>
        </details>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Submitting…' : 'Submit job'}
          </button>
        </div>
      </form>
    </div>
  );
}

function aria(id: string, errors: Errors, hasHelp = false): Record<string, string | undefined> {
  const ids = [errors[id] ? `${id}-err` : '', hasHelp ? `${id}-help` : ''].filter(Boolean).join(' ');
  return { 'aria-invalid': errors[id] ? 'true' : undefined, 'aria-describedby': ids || undefined };
}

function FieldErrors({ id, errors }: { id: string; errors: Errors }) {
  const ms = errors[id];
  if (!ms) return null;
  return (
    <p class="field-error" id={`${id}-err`}>
      {ms.join('; ')}
    </p>
  );
}

function Field({ id, label, errors, help, grow, children }: { id: string; label: string; errors: Errors; help?: string; grow?: boolean; children: ComponentChildren }) {
  return (
    <div class={`field${grow ? ' grow' : ''}${errors[id] ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      {help && (
        <span class="help" id={`${id}-help`}>
          {help}
        </span>
      )}
      <FieldErrors id={id} errors={errors} />
    </div>
  );
}
