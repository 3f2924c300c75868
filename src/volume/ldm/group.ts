import { GuestkitError, corrupt } from '../../protocol/errors.js';
import type { LdmDatabase } from './database.js';
import type { VblkComponent, VblkDisk, VblkGroup, VblkPartition, VblkVolume } from './vblk.js';

export type LdmVolumeType = 'simple' | 'spanned' | 'striped' | 'mirrored' | 'raid5';

/** A component (plex) with its partitions in the order libldm uses: by index. */
export interface LdmComponent extends VblkComponent {
  parts: VblkPartition[];
}
export interface LdmVolume extends VblkVolume {
  type: LdmVolumeType;
  /** Chunk size in sectors (striped, RAID-5), else 0. */
  chunkSize: number;
  components: LdmComponent[];
  /** The partitions of all its components, in ldmtool's order. */
  partitions: VblkPartition[];
}
export interface LdmGroupModel {
  name: string;
  guid: string;
  disks: VblkDisk[];
  partitions: VblkPartition[];
  volumes: LdmVolume[];
}

/** Links the records as libldm does (every reference checked); a broken database is CORRUPT_IMAGE. */
export function buildGroup(db: LdmDatabase, groupGuid: string, where: string): LdmGroupModel {
  let group: VblkGroup | undefined;
  const disks: VblkDisk[] = [];
  const comps: LdmComponent[] = [];
  const parts: VblkPartition[] = [];
  const vols: VblkVolume[] = [];
  for (const rec of db.records) {
    if (rec.kind === 'group') group = rec.v;
    else if (rec.kind === 'disk') disks.push(rec.v);
    else if (rec.kind === 'component') comps.push({ ...rec.v, parts: [] });
    else if (rec.kind === 'partition') parts.push(rec.v);
    else if (rec.kind === 'volume') vols.push(rec.v);
  }
  const c = db.counts;
  const check = (what: string, want: number, got: number): void => {
    if (want !== got) throw corrupt(`${where}: the LDM database announces ${want} ${what} records but holds ${got}`);
  };
  check('disk', c.disks, disks.length);
  check('component', c.components, comps.length);
  check('partition', c.partitions, parts.length);
  check('volume', c.volumes, vols.length);
  const diskIds = new Set(disks.map((d) => d.id));
  const compById = new Map(comps.map((x) => [x.id, x]));
  for (const p of parts) {
    if (!diskIds.has(p.diskId)) throw corrupt(`${where}: LDM partition ${p.name} refers to unknown disk ${p.diskId}`);
    const parent = compById.get(p.parentId);
    if (!parent) throw corrupt(`${where}: LDM partition ${p.name} refers to unknown component ${p.parentId}`);
    parent.parts.push(p);
  }
  const volById = new Map<number, { v: VblkVolume; comps: LdmComponent[] }>(vols.map((v) => [v.id, { v, comps: [] }]));
  for (const x of comps) {
    if (x.parts.length !== x.nParts) throw corrupt(`${where}: LDM component ${x.id} announces ${x.nParts} partitions but has ${x.parts.length}`);
    if (x.nColumns > 0 && x.nColumns !== x.parts.length) throw corrupt(`${where}: LDM component ${x.id} has ${x.nColumns} columns over ${x.parts.length} partitions`);
    x.parts.sort((a, b) => a.index - b.index);
    const parent = volById.get(x.parentId);
    if (!parent) throw corrupt(`${where}: LDM component ${x.id} refers to unknown volume ${x.parentId}`);
    parent.comps.push(x);
  }
  const volumes: LdmVolume[] = [];
  for (const { v, comps: vc } of volById.values()) {
    if (vc.length !== v.nComponents) throw corrupt(`${where}: LDM volume ${v.name} announces ${v.nComponents} components but has ${vc.length}`);
    volumes.push({ ...v, type: volumeType(v, vc, where), chunkSize: vc[vc.length - 1]?.chunkSize ?? 0, components: vc, partitions: vc.flatMap((x) => x.parts) });
  }
  return { name: group?.name ?? db.groupName, guid: groupGuid, disks, partitions: parts, volumes };
}

function volumeType(v: VblkVolume, comps: LdmComponent[], where: string): LdmVolumeType {
  const bad = (why: string): GuestkitError => corrupt(`${where}: LDM volume ${v.name}: ${why}`);
  if (comps.length === 0) throw bad('no components');
  const types = new Set(comps.map((x) => x.type));
  if (types.size !== 1) throw bad('components of different types');
  const t = comps[0]!.type;
  if (t === 3) {
    if (v.volumeType !== 4 || comps.length !== 1) throw bad('a RAID component needs a RAID-5 volume of one component');
    return 'raid5';
  }
  if (v.volumeType !== 3) throw bad(`a ${t === 1 ? 'striped' : 'spanned'} component under a RAID-5 volume`);
  if (t === 1) {
    if (comps.length !== 1) throw bad('a striped volume of several components');
    return 'striped';
  }
  if (comps.length > 1) return 'mirrored';
  return comps[0]!.parts.length > 1 ? 'spanned' : 'simple';
}
