import type { GuestView } from '../../guest-view.js';
import type { ContainerImage } from '../../types.js';
import { isObj, MAX_STORE_JSON, parseJson, splitReference } from './reference.js';

export const CONTAINERS_STORAGE = '/var/lib/containers/storage';

/** Layers walked from an image's top layer to the base (a loop in hostile metadata stops here). */
const MAX_LAYER_CHAIN = 1024;

/**
 * Images of containers/storage (Podman, CRI-O, Buildah): <root>/<driver>-images/images.json
 * (id, digest, names, layer, created, big-data-sizes) and <driver>-layers/layers.json
 * (id, parent, diff-size). The size is what `podman images` reports: the layer chain's
 * diff sizes plus the image's big-data items (manifest, config, signatures).
 */
export async function podmanImages(g: GuestView, root = CONTAINERS_STORAGE): Promise<ContainerImage[] | undefined> {
  const entries = await g.entries(root);
  if (entries.length === 0) return undefined;
  const out: ContainerImage[] = [];
  for (const e of entries) {
    if (e.type !== 'directory' || !e.name.endsWith('-images')) continue;
    const driver = e.name.slice(0, -'-images'.length);
    const path = `${root}/${e.name}/images.json`;
    const text = await g.text(path, MAX_STORE_JSON);
    if (text === undefined) continue;
    const images = parseJson(text, path, (m) => g.warn(m));
    if (images === undefined) continue;
    if (!Array.isArray(images)) {
      g.warn(`${path}: not a JSON array; images not listed`);
      continue;
    }
    const layers = await layerSizes(g, `${root}/${driver}-layers/layers.json`);
    for (const img of images) {
      if (!isObj(img) || typeof img.id !== 'string') {
        g.warn(`${path}: an entry without an id; skipped`);
        continue;
      }
      let size: number | undefined = 0;
      const bd = img['big-data-sizes'];
      if (isObj(bd)) for (const v of Object.values(bd)) if (typeof v === 'number' && v >= 0) size += v;
      let layer = typeof img.layer === 'string' ? img.layer : undefined;
      for (let i = 0; layer && layers; i++) {
        const l = layers.get(layer);
        if (!l || i >= MAX_LAYER_CHAIN) {
          g.warn(`${path}: image ${img.id}: ${l ? 'layer chain too long' : `layer ${layer} not in ${driver}-layers/layers.json`}; size unknown`);
          size = undefined;
          break;
        }
        size += l.size;
        layer = l.parent;
      }
      if (!layers) size = undefined;
      const base = {
        source: 'container' as const,
        engine: 'podman' as const,
        image_id: `sha256:${img.id}`,
        store: root,
        ...(size !== undefined ? { size } : {}),
        ...(typeof img.created === 'string' ? { created: img.created } : {}),
      };
      const digest = typeof img.digest === 'string' ? img.digest : undefined;
      const names = Array.isArray(img.names) ? img.names.filter((n): n is string => typeof n === 'string') : [];
      if (names.length === 0) out.push({ ...base, name: base.image_id, ...(digest ? { digest } : {}) });
      for (const n of names) {
        const r = splitReference(n);
        out.push({
          ...base,
          name: r.repository,
          repository: r.repository,
          ...(r.tag ? { version: r.tag, tag: r.tag } : {}),
          ...(r.digest ?? digest ? { digest: r.digest ?? digest } : {}),
        });
      }
    }
  }
  return out;
}

async function layerSizes(g: GuestView, path: string): Promise<Map<string, { size: number; parent?: string }> | undefined> {
  const text = await g.text(path, MAX_STORE_JSON);
  if (text === undefined) return undefined;
  const doc = parseJson(text, path, (m) => g.warn(m));
  if (!Array.isArray(doc)) {
    if (doc !== undefined) g.warn(`${path}: not a JSON array`);
    return undefined;
  }
  const m = new Map<string, { size: number; parent?: string }>();
  for (const l of doc) {
    if (!isObj(l) || typeof l.id !== 'string') continue;
    m.set(l.id, { size: typeof l['diff-size'] === 'number' ? l['diff-size'] : 0, ...(typeof l.parent === 'string' && l.parent ? { parent: l.parent } : {}) });
  }
  return m;
}
