/** The disk layer: image files as random-access block devices. */
export { openImage, DEFAULT_MAX_CHAIN } from './open.js';
export { detectFile, detectFormat, findFormat } from './detect.js';
export { FORMATS } from './formats.js';
export { BlockCache, type BlockCacheOptions } from './cache.js';
export { imageInfo, formatInfoText } from './info.js';
export { convertImage, type ConvertFormat, type ConvertOptions, type ConvertResult } from './convert.js';
export { parseSha256, sha256File, verifySha256 } from './checksum.js';
export { RawDevice, checkDeviceRead } from './raw.js';
export { Qcow2Device, type Qcow2Info } from './qcow2/device.js';
export type { ImageDevice, ImageFormat, ImageFormatName, ImageInfo, OpenContext, OpenOptions } from './image.js';
export type { BlockDevice, ReadStats } from './types.js';
export { newReadStats } from './types.js';
