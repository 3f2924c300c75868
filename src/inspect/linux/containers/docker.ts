import { createHash } from 'node:crypto';
import type { GuestView } from '../../guest-view.js';
import type { ContainerImage } from '../../types.js';
import { isObj, MAX_STORE_JSON, parseJson, splitReference } from './reference.js';

export const DOCKER_ROOT = '/var/lib/docker';

const MAX_LAYERS = 512;
const MAX_UNNAMED = 4096;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Images of the Docker engine: <root>/image/<driver>/repositories.json maps each repository to
 * its references ("nginx:1.27" and "nginx@sha256:…") → image id; imagedb/content/sha256/<id> is
 * the image config (created, rootfs.diff_ids); layerdb/sha256/<chain id>/size each layer's
 * unpacked size, summed as `docker images` does. Images in imagedb that no reference names are
 * listed by id. One readdir when Docker is absent.
 */
export async function dockerImages(g: GuestView, root = DOCKER_ROOT): Promise<ContainerImage[] | undefined> {
  const drivers = (await g.entries(`${root}/image`)).filter((e) => e.type === 'directory');
  if (drivers.length === 0) return undefined;
  const out: ContainerImage[] = [];
  for (const { name: driver } of drivers) {
    const base = `${root}/image/${driver}`;
    const path = `${base}/repositories.json`;
    const text = await g.text(path, MAX_STORE_JSON);
    if (text === undefined) continue;
    const doc = parseJson(text, path, (m) => g.warn(m));
    if (doc === undefined) continue;
    const repos = isObj(doc) ? doc.Repositories : undefined;
    if (!isObj(repos)) {
      g.warn(`${path}: no "Repositories" object; images not listed`);
      continue;
    }
    const facts = new Map<string, { size?: number; created?: string }>();
    const factsOf = async (id: string) => {
      let f = facts.get(id);
      if (!f) {
        f = await imageFacts(g, base, id);
        facts.set(id, f);
      }
      return f;
    };
    const named = new Set<string>();
    for (const [repo, refs] of Object.entries(repos)) {
      if (!isObj(refs)) continue;
      const tags: [string, string][] = [];
      const digests = new Map<string, string>(); // image id → first digest reference
      for (const [ref, id] of Object.entries(refs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (typeof id !== 'string' || !DIGEST.test(id)) {
          g.warn(`${path}: ${ref}: image id is not a sha256 digest; skipped`);
          continue;
        }
        const r = splitReference(ref);
        if (r.digest) {
          if (!digests.has(id)) digests.set(id, r.digest);
        } else if (r.tag) tags.push([r.tag, id]);
      }
      const tagged = new Set(tags.map(([, id]) => id));
      const entries: { tag?: string; id: string; digest?: string }[] = tags.map(([tag, id]) => ({ tag, id, digest: digests.get(id) }));
      for (const [id, digest] of digests) if (!tagged.has(id)) entries.push({ id, digest });
      for (const e of entries) {
        named.add(e.id);
        const f = await factsOf(e.id);
        out.push({
          source: 'container',
          engine: 'docker',
          name: repo,
          repository: repo,
          ...(e.tag ? { version: e.tag, tag: e.tag } : {}),
          ...(e.digest ? { digest: e.digest } : {}),
          image_id: e.id,
          ...(f.size !== undefined ? { size: f.size } : {}),
          ...(f.created ? { created: f.created } : {}),
          store: root,
        });
      }
    }
    // Images no reference names (dangling, `<none>` in `docker images`): only in the image store.
    const stored = await g.list(`${base}/imagedb/content/sha256`);
    for (const hex of stored.slice(0, MAX_UNNAMED)) {
      const id = `sha256:${hex}`;
      if (!DIGEST.test(id) || named.has(id)) continue;
      const f = await factsOf(id);
      out.push({ source: 'container', engine: 'docker', name: id, image_id: id, ...(f.size !== undefined ? { size: f.size } : {}), ...(f.created ? { created: f.created } : {}), store: root });
    }
    if (stored.length > MAX_UNNAMED) g.warn(`${base}/imagedb/content/sha256: more than ${MAX_UNNAMED} images; the rest not listed`);
  }
  return out;
}

/** created and the unpacked size from the image config and the layer store. */
async function imageFacts(g: GuestView, base: string, id: string): Promise<{ size?: number; created?: string }> {
  const path = `${base}/imagedb/content/sha256/${id.slice('sha256:'.length)}`;
  const text = await g.text(path, MAX_STORE_JSON);
  if (text === undefined) {
    g.warn(`${path}: missing; size and creation time of ${id} unknown`);
    return {};
  }
  const cfg = parseJson(text, path, (m) => g.warn(m));
  if (!isObj(cfg)) return {};
  const out: { size?: number; created?: string } = {};
  if (typeof cfg.created === 'string') out.created = cfg.created;
  const diffIds = isObj(cfg.rootfs) && Array.isArray(cfg.rootfs.diff_ids) ? cfg.rootfs.diff_ids : undefined;
  if (!diffIds || diffIds.length > MAX_LAYERS || !diffIds.every((d): d is string => typeof d === 'string' && DIGEST.test(d))) return out;
  // Chain ids (image-spec): chain(0) = diff(0); chain(n) = sha256(chain(n-1) + " " + diff(n)).
  let chain = '';
  let size = 0;
  for (const d of diffIds) {
    chain = chain === '' ? d : `sha256:${createHash('sha256').update(`${chain} ${d}`).digest('hex')}`;
    const s = (await g.text(`${base}/layerdb/sha256/${chain.slice('sha256:'.length)}/size`, 64))?.trim();
    if (!s || !/^\d+$/.test(s)) return out;
    size += Number(s);
  }
  out.size = size;
  return out;
}
