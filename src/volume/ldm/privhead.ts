import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

/** The PRIVHEAD of one dynamic disk: who it is, which group it belongs to, where its data and database lie (in sectors). */
export interface Privhead {
  diskGuid: string;
  hostGuid: string;
  groupGuid: string;
  groupName: string;
  version: string;
  /** First sector of the disk's data area; LDM partition starts are relative to it. */
  dataStart: number;
  dataSize: number;
  configStart: number;
  configSize: number;
}

export const PRIVHEAD_SIZE = 512;
const GUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Fields are big-endian; GUIDs are 64-byte ASCII strings (the published layout, also libldm's). */
export function parsePrivhead(buf: Buffer, where: string): Privhead {
  const r = new BinaryReader(buf, `${where}: LDM PRIVHEAD`);
  if (r.cstring(0, 8) !== 'PRIVHEAD') throw corrupt(`${where}: no LDM PRIVHEAD signature`);
  const guid = (off: number, what: string): string => {
    const s = r.cstring(off, 64);
    if (!GUID_TEXT.test(s)) throw corrupt(`${where}: LDM PRIVHEAD ${what} GUID "${s.slice(0, 40)}" is not a GUID`);
    return s.toLowerCase();
  };
  return {
    version: `${r.u16be(12)}.${r.u16be(14)}`,
    diskGuid: guid(48, 'disk'),
    hostGuid: r.cstring(112, 64),
    groupGuid: guid(176, 'disk group'),
    groupName: r.cstring(240, 32),
    dataStart: r.u64be(283),
    dataSize: r.u64be(291),
    configStart: r.u64be(299),
    configSize: r.u64be(307),
  };
}
