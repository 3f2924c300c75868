// The Kubernetes manifests (deploy/k8s) and the Helm chart (deploy/helm/guestkit): every object
// validates against the Kubernetes OpenAPI schemas (kubernetes-models, generated from the OpenAPI
// document of Kubernetes 1.34) and the CRD schemas of the Prometheus Operator and KEDA
// (@kubernetes-models/prometheus-operator, @kubernetes-models/keda), offline; every pod spec meets the
// restricted Pod Security Standard (its rules written out below); `helm template` renders the same
// objects as `kubectl kustomize` in both modes. The generated validators check types, required
// fields and enums but let unknown fields through; unknownFields() below finds those too (what
// `kubectl apply --validate=strict` would refuse), so a misspelt field cannot pass unnoticed.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { generateToken } from '../../src/ports/token-store.js';
import { REPO } from '../helpers/fixtures.js';
import { helmTemplate, K8S_DIR, key, kustomize, MODES, podSpecs, type Manifest, type Mode } from './manifests.js';

const MODEL_MODULES: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
};

type ModelClass = new (data: unknown) => { validate(): void };

async function modelOf(m: Manifest): Promise<ModelClass> {
  const mod = MODEL_MODULES[m.apiVersion];
  assert.ok(mod, `${key(m)}: no schema for apiVersion ${m.apiVersion}`);
  const Model = ((await import(mod)) as Record<string, ModelClass>)[m.kind];
  assert.ok(Model, `${key(m)}: no schema for ${m.apiVersion} ${m.kind}`);
  return Model;
}

/** Validates one object against its kind's schema; throws with the schema's complaint. */
async function validate(m: Manifest): Promise<void> {
  new (await modelOf(m))(m).validate();
}

/**
 * The fields of `m` its schema does not define, as paths. The validators are compiled code that read
 * each property their schema defines (`data.selector`) and enumerate maps (labels, resources.limits):
 * running one over proxies records what it looked at, and a key of an object whose properties it
 * read one by one, but not this key, is unknown to the schema. Objects it never looked into
 * (free-form ones, x-kubernetes-preserve-unknown-fields) are not judged.
 */
async function unknownFields(m: Manifest): Promise<string[]> {
  const Model = await modelOf(m);
  const seen = new Map<object, { read: Set<PropertyKey>; listed: boolean }>();
  const proxies = new WeakMap<object, object>();
  const wrap = (x: unknown): unknown => {
    if (!x || typeof x !== 'object') return x;
    const hit = proxies.get(x);
    if (hit) return hit;
    const log = { read: new Set<PropertyKey>(), listed: false };
    seen.set(x, log);
    const p = new Proxy(x, {
      get(t, k, r) {
        log.read.add(k);
        return wrap(Reflect.get(t, k, r));
      },
      ownKeys(t) {
        log.listed = true;
        return Reflect.ownKeys(t);
      },
    });
    proxies.set(x, p);
    return p;
  };
  const plain = structuredClone(m) as Record<string, unknown>;
  new Model({}).validate.call(wrap(plain)); // the kind's compiled validator, with the proxy as `this`
  const out: string[] = [];
  const walk = (x: unknown, path: string): void => {
    if (Array.isArray(x)) return x.forEach((v, i) => walk(v, `${path}[${i}]`));
    if (!x || typeof x !== 'object') return;
    const log = seen.get(x);
    const judged = log && !log.listed && log.read.size > 0;
    for (const [k, v] of Object.entries(x)) {
      if (judged && !log.read.has(k)) out.push(`${path}.${k}`);
      walk(v, `${path}.${k}`);
    }
  };
  walk(plain, '');
  return out;
}

// ---- the restricted Pod Security Standard (kubernetes.io/docs/concepts/security/pod-security-standards), as code ----
const BASELINE_CAPS = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
const SAFE_SYSCTLS = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SELINUX_TYPES = new Set(['container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

/** Every violation of the restricted profile in one pod spec (empty: it passes). */
export function restrictedViolations(spec: Record<string, any>): string[] {
  const v: string[] = [];
  const psc = spec.securityContext ?? {};
  const containers: Record<string, any>[] = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
  // baseline
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) v.push('host namespaces');
  if (psc.windowsOptions?.hostProcess) v.push('pod: hostProcess');
  for (const vol of spec.volumes ?? []) {
    if (vol.hostPath) v.push(`volume ${vol.name}: hostPath`);
    const type = Object.keys(vol).find((k) => k !== 'name');
    if (!type || !RESTRICTED_VOLUMES.has(type)) v.push(`volume ${vol.name}: type ${type} not allowed`);
  }
  for (const s of psc.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) v.push(`sysctl ${s.name}`);
  const seLinux = (o: Record<string, any> | undefined, where: string) => {
    if (!o) return;
    if (o.type && !SELINUX_TYPES.has(o.type)) v.push(`${where}: seLinuxOptions.type ${o.type}`);
    if (o.user || o.role) v.push(`${where}: seLinuxOptions user/role`);
  };
  seLinux(psc.seLinuxOptions, 'pod');
  const appArmorOk = (p: Record<string, any> | undefined) => !p || p.type === 'RuntimeDefault' || p.type === 'Localhost';
  if (!appArmorOk(psc.appArmorProfile)) v.push('pod: appArmorProfile');
  // restricted, pod level
  const podSeccomp = psc.seccompProfile?.type;
  if (podSeccomp !== undefined && podSeccomp !== 'RuntimeDefault' && podSeccomp !== 'Localhost') v.push(`pod: seccomp ${podSeccomp}`);
  if (psc.runAsNonRoot === false) v.push('pod: runAsNonRoot false');
  if (psc.runAsUser === 0) v.push('pod: runAsUser 0');
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.privileged) v.push(`${where}: privileged`);
    if (sc.windowsOptions?.hostProcess) v.push(`${where}: hostProcess`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`${where}: hostPort ${p.hostPort}`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') v.push(`${where}: procMount ${sc.procMount}`);
    seLinux(sc.seLinuxOptions, where);
    if (!appArmorOk(sc.appArmorProfile)) v.push(`${where}: appArmorProfile`);
    for (const cap of sc.capabilities?.add ?? []) if (!BASELINE_CAPS.has(cap)) v.push(`${where}: adds ${cap}`);
    // restricted
    if (sc.allowPrivilegeEscalation !== false) v.push(`${where}: allowPrivilegeEscalation must be false`);
    const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    if (nonRoot !== true) v.push(`${where}: runAsNonRoot must be true`);
    if (sc.runAsUser === 0) v.push(`${where}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') v.push(`${where}: seccompProfile must be RuntimeDefault or Localhost`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) v.push(`${where}: must drop ALL capabilities`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') v.push(`${where}: restricted adds only NET_BIND_SERVICE, not ${cap}`);
  }
  return v;
}

const adminToken = generateToken();
const metricsSource = ['metrics.ts', 'sla-metrics.ts'].map((f) => readFileSync(join(REPO, 'src', 'observability', f), 'utf8')).join('\n');
const rendered: Record<string, Manifest[]> = {};
const sources = () => Object.entries(rendered);
const find = (ms: Manifest[], kind: string, name: string) => {
  const m = ms.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(m, `${kind}/${name} missing`);
  return m as any;
};

/** Objects in a stable order with no rendering noise: kind/namespace/name, keys sorted. */
function normalized(ms: Manifest[]): Record<string, unknown> {
  const sortKeys = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(sortKeys) : x && typeof x === 'object' ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sortKeys((x as Record<string, unknown>)[k])])) : x;
  return Object.fromEntries(ms.map((m) => [key(m), sortKeys(m)]).sort(([a], [b]) => String(a).localeCompare(String(b))));
}

describe('Kubernetes manifests and Helm chart', () => {
  before(async () => {
    for (const mode of MODES) {
      rendered[`kustomize ${mode}`] = await kustomize(mode);
      rendered[`helm ${mode}`] = await helmTemplate(mode);
    }
    // the chart's other values: external Redis/PostgreSQL, an existing image claim, no KEDA/monitoring
    rendered['helm cluster, external stores'] = await helmTemplate('cluster', [
      'redis.bundled=false',
      'redis.url=rediss://redis.example.internal:6380',
      'postgresql.bundled=false',
      'postgresql.url=postgres://guestkit@db.example.internal:5432/guestkit',
      'images.existingClaim=vm-images',
      'keda.enabled=false',
      'monitoring.serviceMonitor=false',
      'monitoring.prometheusRule=false',
    ]);
    // the admin token: given as text (the chart makes the Secret), or a Secret of one's own
    rendered['helm cluster, admin token'] = await helmTemplate('cluster', [`tokens.admin=${adminToken}`]);
    rendered['helm embedded, existing token Secret'] = await helmTemplate('embedded', ['tokens.existingSecret=my-guestkit-token']);
  });

  it('helm template renders the same objects as kubectl kustomize, in both modes', () => {
    for (const mode of MODES) {
      const k = normalized(rendered[`kustomize ${mode}`]!);
      const h = normalized(rendered[`helm ${mode}`]!);
      assert.deepEqual(Object.keys(h), Object.keys(k), `${mode}: the same objects`);
      assert.deepEqual(h, k, `${mode}: the same contents`);
    }
  });

  it('every object validates against the Kubernetes and CRD schemas', async () => {
    for (const [name, ms] of sources()) {
      assert.ok(ms.length >= 10, `${name}: ${ms.length} objects`);
      for (const m of ms) {
        try {
          await validate(m);
        } catch (err) {
          assert.fail(`${name}: ${key(m)}: ${(err as Error).message}`);
        }
      }
    }
  });

  it('every manifest file under deploy/k8s is a resource of a kustomization (so the checks here see it)', () => {
    const files = (readdirSync(K8S_DIR, { recursive: true }) as string[]).filter((f) => f.endsWith('.yaml') && !f.endsWith('kustomization.yaml'));
    const listed = new Set<string>();
    for (const k of (readdirSync(K8S_DIR, { recursive: true }) as string[]).filter((f) => f.endsWith('kustomization.yaml'))) {
      const doc = parse(readFileSync(join(K8S_DIR, k), 'utf8')) as { resources?: string[] };
      for (const r of doc.resources ?? []) listed.add(join(dirname(k), r));
    }
    assert.ok(files.length >= 20, `${files.length} files`);
    assert.deepEqual(files.filter((f) => !listed.has(f)), []);
  });

  it('no object has a field its schema does not define', async () => {
    for (const [name, ms] of sources()) {
      for (const m of ms) assert.deepEqual(await unknownFields(m), [], `${name}: ${key(m)}`);
    }
  });

  it('the unknown-field check finds misspelt fields, in core objects and in CRDs', async () => {
    const d = structuredClone(find(rendered['kustomize cluster']!, 'DaemonSet', 'guestkit-worker'));
    const c = d.spec.template.spec.containers[0];
    c.securityContext.readOnlyRootFileSystem = true; // a capital S: valid types, unknown field
    c.livenesProbe = c.livenessProbe;
    d.spec.template.metadata.labels['any-label'] = 'fine'; // a map: any key is allowed
    assert.deepEqual(await unknownFields(d), ['.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem', '.spec.template.spec.containers[0].livenesProbe']);
    await validate(d); // which the schemas alone accept
    const so = structuredClone(find(rendered['kustomize cluster']!, 'ScaledObject', 'guestkit-api'));
    so.spec.maxReplicaCont = 3;
    assert.deepEqual(await unknownFields(so), ['.spec.maxReplicaCont']);
    const r = structuredClone(find(rendered['kustomize cluster']!, 'PrometheusRule', 'guestkit'));
    r.spec.groups[0].rules[0].fro = '5m';
    assert.deepEqual(await unknownFields(r), ['.spec.groups[0].rules[0].fro']);
  });

  it('the schemas do reject a broken object (the validator is live)', async () => {
    const d = structuredClone(find(rendered['kustomize cluster']!, 'DaemonSet', 'guestkit-worker'));
    d.spec.template.spec.containers[0].securityContext.runAsNonRoot = 'yes';
    await assert.rejects(validate(d), /runAsNonRoot must be boolean/);
    const r = structuredClone(find(rendered['kustomize cluster']!, 'PrometheusRule', 'guestkit'));
    delete r.spec.groups[0].name;
    await assert.rejects(validate(r), /name/);
    const so = structuredClone(find(rendered['kustomize cluster']!, 'ScaledObject', 'guestkit-api'));
    delete so.spec.scaleTargetRef;
    await assert.rejects(validate(so), /scaleTargetRef/);
  });

  it('every pod spec meets the restricted Pod Security Standard', () => {
    for (const [name, ms] of sources()) {
      const pods = podSpecs(ms);
      assert.ok(pods.length >= 1);
      for (const p of pods) assert.deepEqual(restrictedViolations(p.spec), [], `${name}: ${p.where}`);
      // and every container sets the four settings itself, not by luck of defaults
      for (const p of pods) {
        assert.equal(p.spec.securityContext.seccompProfile.type, 'RuntimeDefault', `${name}: ${p.where}`);
        for (const c of p.spec.containers) {
          assert.deepEqual(
            { nonRoot: c.securityContext.runAsNonRoot, ro: c.securityContext.readOnlyRootFilesystem, esc: c.securityContext.allowPrivilegeEscalation, drop: c.securityContext.capabilities.drop },
            { nonRoot: true, ro: true, esc: false, drop: ['ALL'] },
            `${name}: ${p.where}`,
          );
        }
      }
      const ns = ms.find((m) => m.kind === 'Namespace');
      if (ns) assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    }
  });

  it('the PSS check catches what the seed needed: a privileged worker with SYS_ADMIN and a hostPath', () => {
    const d = structuredClone(find(rendered['kustomize cluster']!, 'DaemonSet', 'guestkit-worker'));
    const spec = d.spec.template.spec;
    spec.containers[0].securityContext = { privileged: true, capabilities: { add: ['SYS_ADMIN'] } };
    spec.volumes.push({ name: 'dev', hostPath: { path: '/dev' } });
    const v = restrictedViolations(spec);
    for (const want of [/privileged/, /adds SYS_ADMIN/, /hostPath/, /allowPrivilegeEscalation/, /drop ALL/]) assert.ok(v.some((x) => want.test(x)), `${want} in ${v.join('; ')}`);
  });

  it('workers: a DaemonSet on labelled nodes, images read-only, probes on /healthz and /readyz, limits set', () => {
    for (const [name, ms] of sources().filter(([n]) => n.includes('cluster'))) {
      const ds = find(ms, 'DaemonSet', 'guestkit-worker');
      const spec = ds.spec.template.spec;
      assert.deepEqual(spec.nodeSelector, { 'guestkit.io/worker-enabled': 'true' }, name);
      const c = spec.containers[0];
      assert.deepEqual(c.args.slice(0, 3), ['worker', '--metrics-port', '9464']);
      const images = c.volumeMounts.find((m: any) => m.mountPath === '/images');
      assert.equal(images.readOnly, true);
      assert.equal(spec.volumes.find((v: any) => v.name === images.name).persistentVolumeClaim.readOnly, true);
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      assert.ok(c.resources.requests.memory && c.resources.limits.memory && c.resources.requests.cpu && c.resources.limits.cpu);
      assert.deepEqual(c.envFrom.map((e: any) => e.configMapRef?.name ?? e.secretRef?.name), ['guestkit-config', 'guestkit-store']);
    }
  });

  it('the API: Deployment + Service + PDB + NetworkPolicy, probes, no service account token', () => {
    for (const [name, ms] of sources()) {
      const d = find(ms, 'Deployment', 'guestkit-api');
      const spec = d.spec.template.spec;
      const c = spec.containers[0];
      assert.equal(c.args[0], 'serve');
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.equal(spec.automountServiceAccountToken, false);
      assert.equal(find(ms, 'ServiceAccount', 'guestkit').automountServiceAccountToken, false, name);
      assert.ok(!ms.some((m) => /^(Cluster)?Role(Binding)?$/.test(m.kind)), 'no RBAC: guestkit calls no Kubernetes API');
      assert.equal(find(ms, 'Service', 'guestkit-api').spec.ports[0].port, 8080);
      assert.deepEqual(find(ms, 'PodDisruptionBudget', 'guestkit-api').spec.selector.matchLabels, d.spec.selector.matchLabels);
      assert.deepEqual(find(ms, 'NetworkPolicy', 'guestkit-api').spec.podSelector.matchLabels, d.spec.selector.matchLabels);
    }
    assert.equal(find(rendered['kustomize embedded']!, 'Deployment', 'guestkit-api').spec.strategy.type, 'Recreate', 'one SQLite writer');
  });

  it('the admin token: every API pod reads GUESTKIT_ADMIN_TOKEN from a Secret (key token), required in cluster mode only; workers get none', async () => {
    for (const [name, ms] of sources()) {
      const c = find(ms, 'Deployment', 'guestkit-api').spec.template.spec.containers[0];
      const ref = c.env.find((e: any) => e.name === 'GUESTKIT_ADMIN_TOKEN')?.valueFrom?.secretKeyRef;
      assert.deepEqual(ref, { name: name.includes('existing') ? 'my-guestkit-token' : 'guestkit-admin-token', key: 'token', optional: name.includes('embedded') }, name);
      const ds = ms.find((m) => m.kind === 'DaemonSet') as any;
      if (ds) assert.ok(!JSON.stringify(ds).includes('GUESTKIT_ADMIN_TOKEN'), `${name}: the worker needs no token`);
      // a token in the repository would be every installation's admin token: only a value makes one
      assert.equal(ms.some((m) => m.kind === 'Secret' && m.metadata.name === 'guestkit-admin-token'), name === 'helm cluster, admin token', name);
    }
    const secret = find(rendered['helm cluster, admin token']!, 'Secret', 'guestkit-admin-token');
    assert.deepEqual(secret.stringData, { token: adminToken });
    await assert.rejects(helmTemplate('cluster', ['tokens.admin=gk_not_a_token']), /tokens\.admin must be a token of the form gk_<id>_<secret>/);
    await assert.rejects(helmTemplate('embedded', [`tokens.admin=${adminToken}`, 'tokens.existingSecret=x']), /give the admin token one way/);
  });

  it('bundled Redis runs with noeviction and appendonly; external stores are used by URL', () => {
    const redis = find(rendered['kustomize cluster']!, 'StatefulSet', 'guestkit-redis').spec.template.spec.containers[0].args.join(' ');
    assert.match(redis, /--maxmemory-policy noeviction/);
    assert.match(redis, /--appendonly yes/);
    const ext = rendered['helm cluster, external stores']!;
    assert.ok(!ext.some((m) => m.kind === 'StatefulSet'));
    const store = find(ext, 'Secret', 'guestkit-store').stringData;
    assert.deepEqual(store, { GUESTKIT_STORE: 'postgres://guestkit@db.example.internal:5432/guestkit', GUESTKIT_QUEUE: 'rediss://redis.example.internal:6380' });
    assert.equal(find(ext, 'DaemonSet', 'guestkit-worker').spec.template.spec.volumes.find((v: any) => v.name === 'images').persistentVolumeClaim.claimName, 'vm-images');
    assert.ok(!ext.some((m) => m.kind === 'PersistentVolumeClaim' && m.metadata.name === 'guestkit-images'));
  });

  it('alerts and autoscaling use metrics guestkit exports', () => {
    for (const [name, ms] of sources().filter(([n]) => !n.includes('external'))) {
      const rules = find(ms, 'PrometheusRule', 'guestkit').spec.groups[0].rules as { alert: string; expr: string }[];
      assert.deepEqual(rules.map((r) => r.alert).slice(0, 3), ['GuestkitNoLiveWorker', 'GuestkitQueueAgeAboveSLO', 'GuestkitJobErrorRate'], name);
      const queries = [...rules.map((r) => r.expr)];
      const so = ms.find((m) => m.kind === 'ScaledObject') as any;
      if (so) {
        assert.equal(so.spec.scaleTargetRef.name, 'guestkit-api');
        queries.push(...so.spec.triggers.map((t: any) => t.metadata.query));
      }
      for (const q of queries) {
        // a histogram's series are its name with _bucket, _count or _sum
        for (const metric of q.match(/guestkit_[a-z0-9_]+/g) ?? []) {
          const family = metric.replace(/_(bucket|count|sum)$/, '');
          assert.ok(metricsSource.includes(`name: '${metric}'`) || metricsSource.includes(`name: '${family}'`), `${name}: ${metric} is not a metric of src/observability/metrics.ts or sla-metrics.ts`);
        }
      }
      // the queue SLO reads the age of the oldest waiting job itself, per pool and namespace
      const age = rules.find((r) => r.alert === 'GuestkitQueueAgeAboveSLO')!.expr;
      assert.match(age, /^max by \(pool, exported_namespace\) \(guestkit_queue_oldest_age_seconds\{namespace="guestkit"\}\) > 900$/, name);
      const worker = name.includes('cluster') ? 'guestkit-worker' : 'guestkit-api';
      assert.match(rules[0]!.expr, new RegExp(`job="${worker}"`));
    }
    assert.ok(rendered['kustomize cluster']!.some((m) => m.kind === 'ScaledObject'));
  });
});

export type { Mode };
