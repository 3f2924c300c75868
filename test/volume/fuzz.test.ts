import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BlockDevice } from '../../src/disk/types.js';
import { GuestkitError } from '../../src/protocol/errors.js';
import { crc32 } from '../../src/volume/crc32.js';
import { enumerateVolumes } from '../../src/volume/enumerate.js';
import { probe } from '../../src/volume/probe.js';
import { PatchedDevice, openRaw } from './helpers.js';

/** Deterministic PRNG so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
}

/** Copies `len` bytes at `off` with a few bytes replaced by random or boundary values. */
async function mutated(base: BlockDevice, off: number, len: number, rnd: () => number): Promise<Buffer> {
  const b = Buffer.from(await base.read(off, len));
  const n = 1 + Math.floor(rnd() * 8);
  const specials = [0x00, 0xff, 0x80, 0x7f, 0x01];
  for (let k = 0; k < n; k++) b[Math.floor(rnd() * len)] = rnd() < 0.5 ? specials[Math.floor(rnd() * specials.length)]! : Math.floor(rnd() * 256);
  return b;
}

async function settles(p: Promise<unknown>): Promise<void> {
  await p.catch((e: unknown) => assert.ok(e instanceof GuestkitError, `untyped error: ${String((e as Error)?.stack ?? e)}`));
}

test('fuzz: mutated MBR and EBR sectors only give results, warnings or typed errors', async () => {
  const base = await openRaw('mbr', 'disk.img');
  try {
    const rnd = rng(1);
    const ebrs = [36864, 55296, 65536];
    for (let i = 0; i < 150; i++) {
      const dev = new PatchedDevice(base);
      dev.patch(0, await mutated(base, 0, 512, rnd));
      const e = ebrs[i % 3]!;
      dev.patch(e * 512, await mutated(base, e * 512, 512, rnd));
      await settles(enumerateVolumes([dev]));
    }
  } finally {
    await base.close();
  }
});

test('fuzz: mutated GPT headers and entries (CRCs recomputed) only give results, warnings or typed errors', async () => {
  const base = await openRaw('gpt', 'disk.img');
  try {
    const rnd = rng(2);
    for (let i = 0; i < 80; i++) {
      const hdr = await mutated(base, 512, 92, rnd);
      const entries = await mutated(base, 1024, 128 * 128, rnd);
      hdr.writeUInt32LE(crc32(entries), 88);
      hdr.writeUInt32LE(0, 16);
      hdr.writeUInt32LE(crc32(hdr.subarray(0, Math.min(Math.max(hdr.readUInt32LE(12), 0), 92))), 16);
      const dev = new PatchedDevice(base).patch(512, hdr).patch(1024, entries);
      await settles(enumerateVolumes([dev]));
    }
  } finally {
    await base.close();
  }
});

test('fuzz: mutated superblocks never make probe throw untyped errors', async () => {
  const rnd = rng(3);
  const where: Record<string, [number, number]> = {
    ext4: [1024, 1024], fat32: [0, 512], fat12: [0, 512], exfat: [0, 512], ntfs: [0, 512], xfs: [0, 512],
    btrfs: [65536, 4096], swap: [1024, 3072], luks2: [0, 512], lvm2pv: [512, 512], iso9660: [32768, 2048],
  };
  for (const [name, [off, len]] of Object.entries(where)) {
    const base = await openRaw('probe', `${name}.img`);
    try {
      for (let i = 0; i < 40; i++) {
        const dev = new PatchedDevice(base).patch(off, await mutated(base, off, len, rnd));
        await settles(probe(dev));
      }
    } finally {
      await base.close();
    }
  }
});
