import { dirname, isAbsolute, resolve } from 'node:path';
import { assertFileUnderRoots } from '../policy.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { FileSource } from '../file-source.js';
import { allocatedBytes } from '../source.js';
import type { ImageDevice, ImageFormat, ImageFormatName, OpenContext } from '../image.js';
import { Qcow2Device } from './device.js';
import { parseExtensions } from './extensions.js';
import { INCOMPAT_DATA_FILE, INCOMPAT_KNOWN, QCOW2_MAGIC, parseHeader, unknownFeatureNames } from './header.js';

const KNOWN_FORMATS: readonly ImageFormatName[] = ['raw', 'qcow2', 'vmdk', 'vhd', 'vhdx', 'vdi', 'ova'];
/** Backing names qemu would treat as network/protocol specs; guestkit reads local files only. */
const PROTOCOL = /^(json|nbd|https?|ftps?|ssh|iscsi|rbd|gluster|nfs|sheepdog|vxhs|null-co|null-aio|blkdebug|blkverify|quorum|throttle|fd):/i;
/** Header, extensions and backing name normally fit in the first 4 KiB; up to 64 KiB of cluster 0 is read when they do not. */
const HEAD_READ = 4096;
const HEAD_READ_MAX = 64 * 1024;

export const qcow2Format: ImageFormat = {
  name: 'qcow2',
  probe: (head) => head.length >= 8 && head.readUInt32BE(0) === QCOW2_MAGIC,
  open: openQcow2,
};

export async function openQcow2(path: string, ctx: OpenContext): Promise<ImageDevice> {
  const src = await FileSource.open(path, ctx.stats);
  const opened: { close(): Promise<unknown> }[] = [src];
  try {
    let head = await src.read(0, Math.min(src.size, HEAD_READ));
    const h = parseHeader(head, path, src.size);
    if (h.cryptMethod !== 0) {
      const how = h.cryptMethod === 1 ? 'AES' : h.cryptMethod === 2 ? 'LUKS' : `method ${h.cryptMethod}`;
      throw new GuestkitError('ENCRYPTED', `${path}: qcow2 image is encrypted (${how}); encrypted images are not supported`, {
        details: { path, crypt_method: h.cryptMethod },
      });
    }
    const areaEnd = Math.min(h.backingFileOffset || h.clusterSize, h.clusterSize);
    let ext = parseExtensions(head, h.headerLength, areaEnd, path);
    if (!ext.complete && head.length < src.size) {
      head = await src.read(0, Math.min(src.size, h.clusterSize, HEAD_READ_MAX));
      ext = parseExtensions(head, h.headerLength, areaEnd, path);
    }
    if (!ext.complete) throw corrupt(`${path}: qcow2 header extensions run past the first ${head.length} bytes of the file`, { path });
    const unknown = unknownFeatureNames(h.incompatible, INCOMPAT_KNOWN, ext.incompatNames);
    if (unknown.length > 0) {
      throw new GuestkitError('UNSUPPORTED_FORMAT', `${path}: qcow2 incompatible features not supported: ${unknown.join(', ')}`, {
        details: { path, features: unknown },
      });
    }

    let dataFile: FileSource | undefined;
    if (h.incompatible & INCOMPAT_DATA_FILE) {
      if (!ext.dataFile) {
        throw new GuestkitError('UNSUPPORTED_FORMAT', `${path}: qcow2 image uses an external data file but does not name it`, {
          details: { path },
        });
      }
      const dp = localPath(ext.dataFile, path, 'data file');
      await assertFileUnderRoots(dp, ctx.options.allowedRoots, 'external data file', path);
      try {
        dataFile = await FileSource.open(dp, ctx.stats);
      } catch (err) {
        if (err instanceof GuestkitError && err.code === 'IMAGE_NOT_FOUND') {
          throw new GuestkitError('IMAGE_NOT_FOUND', `${path}: external data file ${ext.dataFile} not found (${dp})`, {
            details: { path, data_file: dp },
          });
        }
        throw err;
      }
      opened.push(dataFile);
    }

    // Only the L1 entries that cover the virtual size are needed.
    const perL1 = h.clusterSize * h.l2Entries;
    const l1Used = Math.ceil(h.size / perL1);
    const l1 = l1Used > 0 ? await src.read(h.l1TableOffset, l1Used * 8) : Buffer.alloc(0);

    let backing: ImageDevice | undefined;
    let backingName: string | undefined;
    let backingPath: string | undefined;
    let backingFormat: string | undefined;
    if (h.backingFileOffset !== 0) {
      const nameBuf =
        h.backingFileOffset + h.backingFileSize <= head.length
          ? head.subarray(h.backingFileOffset, h.backingFileOffset + h.backingFileSize)
          : await src.read(h.backingFileOffset, h.backingFileSize);
      backingName = nameBuf.toString('utf8');
      backingPath = localPath(backingName, path, 'backing file');
      backingFormat = ext.backingFormat;
      let fmt: ImageFormatName | undefined;
      if (backingFormat !== undefined) {
        if (!(KNOWN_FORMATS as readonly string[]).includes(backingFormat)) {
          throw new GuestkitError('UNSUPPORTED_FORMAT', `${path}: backing file format "${backingFormat}" is not supported`, {
            details: { path, backing_format: backingFormat },
          });
        }
        fmt = backingFormat as ImageFormatName;
      }
      if (ctx.options.backing !== false) {
        backing = await ctx.openBacking(backingPath, fmt);
        opened.push(backing);
      }
    }

    const actualSize = (await allocatedBytes(src)) + (dataFile ? await allocatedBytes(dataFile) : 0);
    return new Qcow2Device({
      src,
      dataFile,
      dataFileName: ext.dataFile,
      header: h,
      ext,
      l1,
      backing,
      backingName,
      backingPath,
      backingFormat,
      actualSize,
    });
  } catch (err) {
    for (const o of opened.reverse()) await o.close().catch(() => undefined);
    throw err;
  }
}

/** A file named inside an image: relative to the image's directory; network specs refused. */
function localPath(name: string, image: string, what: string): string {
  if (name.includes('\0') || name.length === 0) throw corrupt(`${image}: ${what} name is invalid`, { path: image });
  let n = name;
  if (n.startsWith('file:')) n = n.slice(5);
  else if (PROTOCOL.test(n)) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `${image}: ${what} "${name}" is a protocol/network spec; only local files are supported`, {
      details: { path: image, name },
    });
  }
  return isAbsolute(n) ? n : resolve(dirname(resolve(image)), n);
}
