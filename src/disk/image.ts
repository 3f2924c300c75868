import type { BlockDevice, ReadStats } from './types.js';

/** Image formats guestkit reads. `img` in job documents is an alias of `raw`. */
export type ImageFormatName = 'raw' | 'qcow2' | 'vmdk' | 'vhd' | 'vhdx' | 'vdi' | 'ova';

/** `qemu-img info`-like facts about one image file (JSON keys documented in the README). */
export interface ImageInfo {
  filename: string;
  format: ImageFormatName;
  virtual_size: number;
  actual_size: number;
  cluster_size?: number;
  /** Format-specific facts (qcow2 version, compression type, VMDK create type, VHD type, …). */
  format_specific?: Record<string, unknown>;
  backing_filename?: string;
  /** The backing name resolved against the image's folder. */
  full_backing_filename?: string;
  backing_format?: string;
  /** The image and every backing file below it, top first. */
  backing_chain?: ImageInfo[];
  /** Further disks inside a container (OVA). */
  children?: ImageInfo[];
}

/** An opened image: a block device plus what it knows about itself. */
export interface ImageDevice extends BlockDevice {
  readonly format: ImageFormatName;
  info(): ImageInfo;
  /** The opened backing image, when there is one. */
  readonly backing?: ImageDevice;
}

export interface OpenOptions {
  /** Stated format; a mismatch with the magic is an error, never a guess. `auto`/undefined detect. */
  format?: ImageFormatName | 'img' | 'auto';
  /** Counts bytes read from every file of the chain. */
  stats?: ReadStats;
  /** Open backing files (default true). */
  backing?: boolean;
  /** Maximum backing chain depth before refusing (default 32). */
  maxChain?: number;
  /**
   * Real paths of the folders every file of the image (backing files, parents,
   * external data files) must lie under; PATH_NOT_ALLOWED otherwise. Unset = no limit.
   */
  allowedRoots?: readonly string[];
}

/** Passed to a format's opener: shared stats and chain state, and a way to open a backing file. */
export interface OpenContext {
  stats: ReadStats;
  /** Real paths already opened in this chain (loop detection). */
  chain: string[];
  options: OpenOptions;
  /** Opens a backing/parent image relative to nothing: `path` must already be resolved. */
  openBacking(path: string, format?: ImageFormatName): Promise<ImageDevice>;
}

/** One format: how to recognise it from its first bytes and how to open it. */
export interface ImageFormat {
  name: ImageFormatName;
  /** `head` is the first 64 KiB of the file (shorter for small files); `tail` the last 512 bytes. */
  probe(head: Buffer, tail: Buffer, fileSize: number): boolean;
  open(path: string, ctx: OpenContext): Promise<ImageDevice>;
}
