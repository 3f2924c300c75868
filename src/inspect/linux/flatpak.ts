import { fromGuestBytes, guestFaultMessage } from '../faults.js';
import type { GuestView } from '../guest-view.js';
import type { FlatpakApplication } from '../types.js';
import { decodeGVariant, type GValue } from './gvariant.js';

export const FLATPAK_SYSTEM_DIR = '/var/lib/flatpak';

/** Bounds against hostile trees: deployments listed and bytes read per small file. */
const MAX_DEPLOYMENTS = 4096;
const MAX_SMALL_FILE = 1024 * 1024;

/**
 * Flatpak deployments, system-wide (/var/lib/flatpak) and per user (~/.local/share/flatpak of
 * each home under /home and /root). Layout (flatpak-dir.c): <installation>/{app,runtime}/<id>/
 * <arch>/<branch>/active → <commit>/ with `metadata` (keyfile) and `deploy`, a GVariant
 * (ssasta{sv}): origin, commit, subpaths, installed size (big-endian), metadata with
 * appdata-version / appdata-name / runtime. Debian's flatpak package creates /var/lib/flatpak,
 * so a guest without it has no flatpak and costs one readdir.
 */
export async function detectFlatpaks(g: GuestView): Promise<FlatpakApplication[] | undefined> {
  const sys = await g.entries(FLATPAK_SYSTEM_DIR);
  if (sys.length === 0) return undefined;
  const out: FlatpakApplication[] = [];
  await readInstallation(g, FLATPAK_SYSTEM_DIR, 'system', out);
  const homes = ['/root', ...(await g.entries('/home')).filter((e) => e.type === 'directory').map((e) => `/home/${e.name}`)];
  for (const h of homes) {
    const dir = `${h}/.local/share/flatpak`;
    if (await g.isDir(dir)) await readInstallation(g, dir, dir, out);
  }
  return out;
}

async function readInstallation(g: GuestView, dir: string, installation: string, out: FlatpakApplication[]): Promise<void> {
  for (const kind of ['app', 'runtime'] as const) {
    for (const id of await dirs(g, `${dir}/${kind}`)) {
      for (const arch of await dirs(g, `${dir}/${kind}/${id}`)) {
        for (const branch of await dirs(g, `${dir}/${kind}/${id}/${arch}`)) {
          if (out.length >= MAX_DEPLOYMENTS) {
            g.warn(`${dir}: more than ${MAX_DEPLOYMENTS} flatpak deployments; the rest not listed`);
            return;
          }
          const d = await deployment(g, `${dir}/${kind}/${id}/${arch}/${branch}`, { kind, id, arch, branch, installation });
          if (d) out.push(d);
        }
      }
    }
  }
}

/** Subdirectories (not symlinks such as `current`), sorted. */
async function dirs(g: GuestView, path: string): Promise<string[]> {
  return (await g.entries(path)).filter((e) => e.type === 'directory').map((e) => e.name);
}

async function deployment(
  g: GuestView,
  base: string,
  p: { kind: 'app' | 'runtime'; id: string; arch: string; branch: string; installation: string },
): Promise<FlatpakApplication | undefined> {
  const commit = await g.readlink(`${base}/active`);
  // No `active` link: an installation that was interrupted, nothing deployed.
  if (!commit || commit.includes('/')) return undefined;
  const dep = `${base}/${commit}`;
  const app: FlatpakApplication = {
    source: 'flatpak',
    name: p.id,
    ref: `${p.kind}/${p.id}/${p.arch}/${p.branch}`,
    kind: p.kind,
    arch: p.arch,
    branch: p.branch,
    commit,
    installation: p.installation,
  };
  const raw = await g.bytes(`${dep}/deploy`, MAX_SMALL_FILE);
  let meta: Map<string, GValue> | undefined;
  if (raw) {
    try {
      const d = decodeGVariant(raw, '(ssasta{sv})') as GValue[];
      const origin = d[0];
      if (typeof origin === 'string' && origin) app.origin = origin;
      // flatpak stores the installed size big-endian (GUINT64_TO_BE) inside the little-endian variant.
      const size = d[3];
      if (typeof size === 'bigint' && size > 0n) {
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(size);
        app.installed_size = Number(b.readBigUInt64BE());
      }
      if (d[4] instanceof Map) meta = d[4];
    } catch (err) {
      g.warn(`${dep}/deploy: ${guestFaultMessage(fromGuestBytes(err, 'gvariant'))}`);
    }
  }
  const version = variantString(meta?.get('appdata-version'));
  if (version) app.version = version;
  else {
    const v = await metainfoVersion(g, `${dep}/files/share`, p.id);
    if (v) app.version = v;
  }
  const keyfile = await g.text(`${dep}/metadata`, MAX_SMALL_FILE);
  const runtime = keyfile && p.kind === 'app' ? /^runtime=(.+)$/m.exec(keyfile)?.[1]?.trim() : undefined;
  if (runtime) app.runtime = runtime;
  else {
    const r = variantString(meta?.get('runtime'));
    if (r && p.kind === 'app') app.runtime = r;
  }
  return app;
}

function variantString(v: GValue | undefined): string | undefined {
  if (v && typeof v === 'object' && 'type' in v && !(v instanceof Map) && typeof v.value === 'string' && v.value) return v.value;
  return undefined;
}

/** The first <release version="…"> of the deployment's AppStream metainfo (releases are listed newest first). */
async function metainfoVersion(g: GuestView, share: string, id: string): Promise<string | undefined> {
  for (const p of [`${share}/metainfo/${id}.metainfo.xml`, `${share}/metainfo/${id}.appdata.xml`, `${share}/appdata/${id}.appdata.xml`]) {
    const xml = await g.text(p, MAX_SMALL_FILE);
    if (xml === undefined) continue;
    const rel = /<release\b[^>]*\bversion\s*=\s*("([^"]*)"|'([^']*)')/.exec(xml);
    const v = rel?.[2] ?? rel?.[3];
    if (v) return v;
  }
  return undefined;
}
