import { fromGuestBytes, guestFaultMessage } from '../faults.js';
import type { GuestView } from '../guest-view.js';
import type { SnapApplication } from '../types.js';
import { squashfsReadFile } from './snap-squashfs.js';

export const SNAPD_STATE = '/var/lib/snapd/state.json';
const SNAPS_DIR = '/var/lib/snapd/snaps';
const MAX_SNAP_YAML = 256 * 1024;

/** state.json also holds changes, tasks and warnings; a busy system's runs to megabytes. */
export const SNAPD_STATE_MAX_BYTES = 32 * 1024 * 1024;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/**
 * Snaps from snapd's state (overlord/snapstate SnapState, published format), each with the
 * version of its current revision's snap.yaml (snapVersion):
 * `data.snaps.<instance>` = { type, sequence: [SideInfo{name, snap-id, revision, channel}], active,
 * current, channel (the tracked channel; older snapd) | tracking-channel }. Newer snapd wraps
 * each sequence entry as { snap: SideInfo, components: [...] }. One stat when snapd is absent.
 */
export async function detectSnaps(g: GuestView): Promise<SnapApplication[] | undefined> {
  const size = await g.size(SNAPD_STATE);
  if (size === undefined) return undefined;
  if (size > SNAPD_STATE_MAX_BYTES) {
    g.warn(`${SNAPD_STATE}: ${size} bytes, more than the ${SNAPD_STATE_MAX_BYTES} read; snaps not listed`);
    return undefined;
  }
  const text = await g.text(SNAPD_STATE, SNAPD_STATE_MAX_BYTES);
  if (text === undefined) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    g.warn(`${SNAPD_STATE}: not JSON (${(err as Error).message}); snaps not listed`);
    return undefined;
  }
  const data = isObj(doc) ? doc.data : undefined;
  if (!isObj(data)) {
    g.warn(`${SNAPD_STATE}: no "data" object; snaps not listed`);
    return undefined;
  }
  const snaps = data.snaps;
  if (snaps === undefined) return []; // seeded with nothing installed yet
  if (!isObj(snaps)) {
    g.warn(`${SNAPD_STATE}: data.snaps is not an object; snaps not listed`);
    return undefined;
  }
  const out: SnapApplication[] = [];
  for (const [instance, st] of Object.entries(snaps)) {
    if (!isObj(st) || !Array.isArray(st.sequence)) {
      g.warn(`${SNAPD_STATE}: snap ${instance}: no sequence; skipped`);
      continue;
    }
    const seq = st.sequence.map((e) => (isObj(e) && isObj(e.snap) ? e.snap : e)).filter(isObj);
    const current = str(st.current);
    // A snap being installed for the first time has a sequence but no current revision yet.
    if (!current || current === '0') continue;
    const side = seq.find((s) => str(s.revision) === current);
    const tracking = str(st['tracking-channel']) ?? str(st.channel);
    const snap: SnapApplication = {
      source: 'snap',
      name: instance,
      revision: current,
      active: st.active === true,
      revisions: seq.map((s) => str(s.revision)).filter((r): r is string => r !== undefined),
    };
    const channel = str(side?.channel);
    if (channel) snap.channel = channel;
    if (tracking) snap.tracking = tracking;
    const id = str(side?.['snap-id']);
    if (id) snap.snap_id = id;
    const type = str(st.type);
    if (type) snap.snap_type = type;
    const version = await snapVersion(g, instance, current);
    if (version) snap.version = version;
    out.push(snap);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The version `snap list` shows: snap.yaml's `version`, inside the current revision's squashfs
 * (/var/lib/snapd/snaps/<instance>_<revision>.snap); only that file is read out of it.
 * undefined when the file is absent or its compression is not read (lzo, lz4, lzma).
 */
async function snapVersion(g: GuestView, instance: string, revision: string): Promise<string | undefined> {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(instance) || !/^x?\d+$/.test(revision)) return undefined;
  const path = `${SNAPS_DIR}/${instance}_${revision}.snap`;
  const size = await g.size(path);
  if (size === undefined) return undefined;
  let yaml: Buffer | undefined;
  try {
    yaml = await squashfsReadFile((off, len) => g.vfs.readRange(path, off, len), size, 'meta/snap.yaml', MAX_SNAP_YAML);
  } catch (err) {
    g.warn(`${path}: ${guestFaultMessage(fromGuestBytes(err, 'squashfs'))}; version not read`);
    return undefined;
  }
  if (!yaml) return undefined;
  g.evidence.push(path);
  const v = /^version:[ \t]*(.*?)[ \t]*$/m.exec(yaml.toString('utf8'))?.[1];
  const unq = v?.replace(/^(['"])(.*)\1$/, '$2');
  return unq ? unq.slice(0, 256) : undefined;
}
