import { GuestkitError, corrupt } from '../../protocol/errors.js';
import type { ImageDevice, ImageFormat, ImageInfo, OpenContext } from '../image.js';
import { checkDeviceRead } from '../raw.js';
import { openVdiSource } from '../vdi/image.js';
import { hasVdiSignature } from '../vdi/header.js';
import { openVhdSource, vhdFormat } from '../vhd/image.js';
import { openVhdxSource } from '../vhdx/image.js';
import { hasVhdxSignature } from '../vhdx/headers.js';
import { openVmdkSource, vmdkFormat } from '../vmdk/image.js';
import { formatSpecific } from '../info.js';
import { parseOvf, type Ovf, type OvfDisk } from './ovf.js';
import { SubSource, allocatedBytes, openOnFile, type ByteSource } from '../source.js';
import { isTarHeader, listTar, type TarMember } from './tar.js';

const MAX_OVF_BYTES = 16 << 20;
/** Every member format is recognised from its first KiB (and the VHD footer at the end). */
const PROBE_HEAD = 4096;

/** How a disk inside the archive is opened: by its magic, like a file would be, but over a sub-file view. */
const MEMBER_FORMATS: {
  name: string;
  probe(head: Buffer, tail: Buffer, size: number): boolean;
  open(src: ByteSource, ctx: OpenContext): Promise<ImageDevice>;
}[] = [
  { name: 'vmdk', probe: (h, t, s) => vmdkFormat.probe(h, t, s), open: (src, ctx) => openVmdkSource(src, ctx, { dir: null }) },
  { name: 'vhdx', probe: (h) => hasVhdxSignature(h), open: openVhdxSource },
  { name: 'vhd', probe: (h, t, s) => vhdFormat.probe(h, t, s), open: openVhdSource },
  { name: 'vdi', probe: (h) => hasVdiSignature(h), open: openVdiSource },
];

/** A raw disk image stored in the archive. */
class MemberRawDevice implements ImageDevice {
  readonly format = 'raw';
  constructor(private readonly src: ByteSource) {}
  get size(): number {
    return this.src.size;
  }
  get name(): string {
    return this.src.path;
  }
  async read(offset: number, length: number): Promise<Buffer> {
    checkDeviceRead(this, offset, length);
    return this.src.read(offset, length);
  }
  info(): ImageInfo {
    return { filename: this.src.path, format: 'raw', virtual_size: this.size, actual_size: this.size };
  }
  async close(): Promise<void> {}
}

interface OvaDisk {
  disk: OvfDisk;
  member: TarMember;
  dev: ImageDevice;
}

/**
 * An OVA (a tar of an OVF envelope and its disks), read in place: each disk is a
 * window of the tar opened by its own format. The device reads as one of the
 * disks (the first in DiskSection order unless another is asked for).
 */
export class OvaDevice implements ImageDevice {
  readonly format = 'ova';

  private constructor(
    private readonly src: ByteSource,
    private readonly ovfName: string,
    private readonly disks: OvaDisk[],
    private readonly index: number,
    private readonly allocated: number,
  ) {}

  get size(): number {
    return this.disks[this.index]!.dev.size;
  }
  get name(): string {
    return this.src.path;
  }
  get diskCount(): number {
    return this.disks.length;
  }
  /** The opened disk `n` (0-based, DiskSection order); closed with the OVA. */
  disk(n: number): ImageDevice {
    const d = this.disks[n];
    if (!d) throw new GuestkitError('NOT_FOUND', `${this.src.path}: the OVA has ${this.disks.length} disks, there is no disk ${n}`);
    return d.dev;
  }

  static async open(src: ByteSource, ctx: OpenContext, index = 0): Promise<OvaDevice> {
    const members = await listTar(src);
    const files = members.filter((m) => m.type === '0' || m.type === '7');
    const ovfMember = files.find((m) => /\.ovf$/i.test(m.name));
    if (!ovfMember) throw new GuestkitError('UNSUPPORTED_FORMAT', `${src.path}: the tar holds no .ovf descriptor, so it is not an OVA`);
    if (ovfMember.size > MAX_OVF_BYTES) throw corrupt(`${src.path}: ${ovfMember.name} is ${ovfMember.size} bytes, too large for an OVF`);
    const ovfText = (await src.read(ovfMember.offset, ovfMember.size)).toString('utf8');
    const ovf = parseOvf(ovfText, `${src.path}/${ovfMember.name}`);
    const disks: OvaDisk[] = [];
    try {
      for (const disk of ovf.disks) {
        if (!disk.fileRef) continue; // a blank disk created at deployment: nothing to read
        const member = findMember(src, ovf, disk, files);
        disks.push({ disk, member, dev: await openMember(src, member, ctx) });
      }
      if (disks.length === 0) throw new GuestkitError('UNSUPPORTED_FORMAT', `${src.path}: the OVF lists no disks with a file`);
      if (!Number.isInteger(index) || index < 0 || index >= disks.length) {
        throw new GuestkitError('NOT_FOUND', `${src.path}: the OVA has ${disks.length} disks, there is no disk ${index}`);
      }
    } catch (err) {
      for (const d of disks) await d.dev.close();
      throw err;
    }
    return new OvaDevice(src, ovfMember.name, disks, index, await allocatedBytes(src));
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.disks[this.index]!.dev.read(offset, length);
  }

  info(): ImageInfo {
    return {
      filename: this.src.path,
      format: 'ova',
      virtual_size: this.size,
      actual_size: this.allocated,
      format_specific: formatSpecific('ova', {
        ovf: this.ovfName,
        disk: this.index,
        disks: this.disks.map((d) => ({
          disk_id: d.disk.diskId,
          file: d.member.name,
          format: d.dev.format,
          virtual_size: d.dev.size,
          capacity: d.disk.capacity,
          member_offset: d.member.offset,
          member_size: d.member.size,
        })),
      }),
      children: this.disks.map((d) => d.dev.info()),
    };
  }

  async close(): Promise<void> {
    for (const d of this.disks) await d.dev.close();
    await this.src.close();
  }
}

function findMember(src: ByteSource, ovf: Ovf, disk: OvfDisk, files: TarMember[]): TarMember {
  const file = ovf.files.find((f) => f.id === disk.fileRef);
  if (!file) throw corrupt(`${src.path}: disk ${disk.diskId} refers to file id ${disk.fileRef}, which References does not list`);
  if (file.compression && file.compression !== 'identity') {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `${src.path}: disk file ${file.href} is ${file.compression}-compressed inside the OVA; unpack it first`);
  }
  if (file.chunkSize) throw new GuestkitError('UNSUPPORTED_FORMAT', `${src.path}: disk file ${file.href} is split into chunks; join it first`);
  const href = file.href.replace(/^\.\//, '');
  const member = files.find((m) => m.name === href);
  if (!member) throw corrupt(`${src.path}: the OVF names ${file.href}, which is not in the archive`);
  return member;
}

async function openMember(ova: ByteSource, m: TarMember, ctx: OpenContext): Promise<ImageDevice> {
  const sub = new SubSource(ova, m.offset, m.size, `${ova.path}/${m.name}`);
  const head = await sub.read(0, Math.min(sub.size, PROBE_HEAD));
  const tail = await sub.read(Math.max(0, sub.size - 512), Math.min(sub.size, 512));
  const f = MEMBER_FORMATS.find((x) => x.probe(head, tail, sub.size));
  if (f) return f.open(sub, ctx);
  if (head.length >= 4 && head.readUInt32BE(0) === 0x514649fb) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `${sub.path}: qcow2 disks inside an OVA are not supported; extract the disk first`);
  }
  return new MemberRawDevice(sub);
}

/** Opens the OVA at `path` reading as its disk `index` (0-based, DiskSection order); `info().children` lists every disk. */
export async function openOvaDisk(path: string, index: number, ctx: OpenContext): Promise<OvaDevice> {
  return openOnFile(path, ctx.stats, (src) => OvaDevice.open(src, ctx, index));
}

export const ovaFormat: ImageFormat = {
  name: 'ova',
  probe(head) {
    // a tar whose first file (after any long-name / pax records) is the .ovf, as the OVF spec requires
    for (let pos = 0, n = 0; pos + 512 <= head.length && n < 8; n++) {
      const h = head.subarray(pos, pos + 512);
      if (!isTarHeader(h)) return false;
      const type = String.fromCharCode(h[156]!);
      const size = parseInt(h.toString('latin1', 124, 136).replace(/[\0 ]+$/, '') || '0', 8);
      if (!Number.isSafeInteger(size)) return false;
      if (type === 'L' || type === 'x') {
        const data = head.subarray(pos + 512, pos + 512 + size).toString('utf8');
        if (/\.ovf(\0|\n|$)/i.test(data)) return true;
      } else if (type !== 'g') {
        const nul = h.indexOf(0);
        return /\.ovf$/i.test(h.toString('utf8', 0, nul < 0 || nul > 100 ? 100 : nul));
      }
      pos += 512 + Math.ceil(size / 512) * 512;
    }
    return false;
  },
  open: (path, ctx) => openOvaDisk(path, 0, ctx),
};
