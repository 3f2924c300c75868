import { fromGuestBytes, guestFaultMessage } from '../../faults.js';
import type { GuestView } from '../../guest-view.js';
import type { ContainerImage } from '../../types.js';
import { BoltDb } from './bbolt.js';
import { isObj, parseJson, splitReference } from './reference.js';

export const CONTAINERD_ROOT = '/var/lib/containerd';
const META_DB = 'io.containerd.metadata.v1.bolt/meta.db';
const CONTENT = 'io.containerd.content.v1.content/blobs';

/** meta.db of a busy node is a few MiB; the pages walked are what is read, under this many. */
const MAX_PAGES = 16384;
const MAX_MANIFEST = 4 * 1024 * 1024;
const ID = /^sha256:[0-9a-f]{64}$/;
const MANIFEST_TYPES = new Set(['application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.oci.image.manifest.v1+json']);
const INDEX_TYPES = new Set(['application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.oci.image.index.v1+json']);

/**
 * Images of containerd (metadata/buckets.go): the bbolt database meta.db holds
 * v1/<namespace>/images/<name>/{createdat, target/{digest, mediatype, size}}. The size given is
 * what `ctr images ls` shows: the manifest, config and layer blobs it names (its JSON read from
 * the content store), plus the index for a multi-platform image (indexFacts).
 */
export async function containerdImages(g: GuestView, root = CONTAINERD_ROOT): Promise<ContainerImage[] | undefined> {
  const path = `${root}/${META_DB}`;
  const fileSize = await g.size(path);
  if (fileSize === undefined) return undefined;
  let db: BoltDb;
  const out: ContainerImage[] = [];
  try {
    db = await BoltDb.open((off, len) => g.vfs.readRange(path, off, len), fileSize, { maxPages: MAX_PAGES });
    g.evidence.push(path);
    const v1 = await db.bucket(['v1']);
    if (!v1) return [];
    for (const ns of await db.entries(v1)) {
      if (!ns.bucket) continue; // the schema "version" key
      const namespace = ns.key.toString('utf8');
      const images = (await db.entries(ns.bucket)).find((e) => e.bucket && e.key.toString('latin1') === 'images')?.bucket;
      if (!images) continue;
      for (const img of await db.entries(images)) {
        if (!img.bucket) continue;
        const name = img.key.toString('utf8');
        const fields = await db.entries(img.bucket);
        const target = fields.find((f) => f.bucket && f.key.toString('latin1') === 'target')?.bucket;
        const t = target ? await db.entries(target) : [];
        const val = (k: string) => t.find((e) => e.value && e.key.toString('latin1') === k)?.value;
        const digest = val('digest')?.toString('utf8');
        const mediatype = val('mediatype')?.toString('utf8');
        const created = goTime(fields.find((f) => f.value && f.key.toString('latin1') === 'createdat')?.value);
        const r = ID.test(name) ? undefined : splitReference(name);
        const m =
          digest && mediatype && MANIFEST_TYPES.has(mediatype)
            ? await manifestFacts(g, root, digest, varint(val('size')))
            : digest && mediatype && INDEX_TYPES.has(mediatype)
              ? await indexFacts(g, root, digest, varint(val('size')))
              : undefined;
        const imageId = r ? m?.config : name;
        out.push({
          source: 'container',
          engine: 'containerd',
          name: r ? r.repository : name,
          ...(r ? { repository: r.repository } : {}),
          ...(r?.tag ? { version: r.tag, tag: r.tag } : {}),
          ...(digest ? { digest } : {}),
          ...(imageId ? { image_id: imageId } : {}),
          ...(m?.size !== undefined ? { size: m.size } : {}),
          ...(created ? { created } : {}),
          store: root,
          namespace,
        });
      }
    }
  } catch (err) {
    // bbolt pages are read with Buffer bounds: a truncated page is the file's damage
    g.warn(`${path}: ${guestFaultMessage(fromGuestBytes(err, 'bbolt'))}${out.length ? `; ${out.length} images read before it` : ''}`);
  }
  return out;
}

/**
 * The config digest (the image id) and the size ctr gives: manifest + config + layers (the blobs
 * as stored, compressed), from the manifest in the content store.
 */
async function manifestFacts(g: GuestView, root: string, digest: string, targetSize: number | undefined): Promise<{ size: number; config?: string } | undefined> {
  if (!ID.test(digest) || targetSize === undefined || targetSize > MAX_MANIFEST) return undefined;
  const p = `${root}/${CONTENT}/sha256/${digest.slice(7)}`;
  const text = await g.text(p, MAX_MANIFEST);
  if (text === undefined) return undefined;
  const m = parseJson(text, p, (w) => g.warn(w));
  if (!isObj(m) || !isObj(m.config) || !Array.isArray(m.layers)) return undefined;
  let size = targetSize + (typeof m.config.size === 'number' ? m.config.size : 0);
  for (const l of m.layers) if (isObj(l) && typeof l.size === 'number') size += l.size;
  return { size, ...(typeof m.config.digest === 'string' && ID.test(m.config.digest) ? { config: m.config.digest } : {}) };
}

/**
 * A multi-platform image (the target is an index, as kubelet pulls most images): ctr sums the
 * index and the one platform manifest it picks for the host with its blobs. The guest's host
 * pulled only its own platform's content, so the manifest taken is the first in the index whose
 * blob is in the content store (attestation entries, platform unknown/unknown, left out).
 */
async function indexFacts(g: GuestView, root: string, digest: string, targetSize: number | undefined): Promise<{ size: number; config?: string } | undefined> {
  if (!ID.test(digest) || targetSize === undefined || targetSize > MAX_MANIFEST) return undefined;
  const p = `${root}/${CONTENT}/sha256/${digest.slice(7)}`;
  const text = await g.text(p, MAX_MANIFEST);
  if (text === undefined) return undefined;
  const idx = parseJson(text, p, (w) => g.warn(w));
  if (!isObj(idx) || !Array.isArray(idx.manifests)) return undefined;
  for (const d of idx.manifests.slice(0, 256)) {
    if (!isObj(d) || typeof d.digest !== 'string' || typeof d.mediaType !== 'string' || !MANIFEST_TYPES.has(d.mediaType)) continue;
    if (isObj(d.platform) && d.platform.os === 'unknown') continue;
    if (!ID.test(d.digest) || (await g.size(`${root}/${CONTENT}/sha256/${d.digest.slice(7)}`)) === undefined) continue;
    const m = await manifestFacts(g, root, d.digest, typeof d.size === 'number' && d.size >= 0 ? d.size : undefined);
    if (m) return { ...m, size: targetSize + m.size };
  }
  return undefined;
}

/** Go's binary.PutVarint (zig-zag). */
function varint(b: Buffer | undefined): number | undefined {
  if (!b) return undefined;
  let x = 0n;
  let s = 0n;
  for (let i = 0; i < b.length && i < 10; i++) {
    const c = BigInt(b[i]!);
    x |= (c & 0x7fn) << s;
    if (c < 0x80n) {
      const v = x & 1n ? -(x >> 1n) - 1n : x >> 1n;
      return Number(v);
    }
    s += 7n;
  }
  return undefined;
}

/** Go's time.MarshalBinary: version 1|2, seconds since year 1 (int64 BE), nanoseconds (int32 BE), zone offset. */
function goTime(b: Buffer | undefined): string | undefined {
  if (!b || b.length < 15 || (b[0] !== 1 && b[0] !== 2)) return undefined;
  const sec = b.readBigInt64BE(1) - 62135596800n;
  const nsec = b.readInt32BE(9);
  const ms = Number(sec) * 1000 + Math.floor(nsec / 1e6);
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
