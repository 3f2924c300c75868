import type { GuestView } from '../guest-view.js';

/** Binaries whose ELF header tells the guest's architecture (libguestfs's list, plus usrmerge paths). */
const ARCH_BINARIES = ['/bin/bash', '/bin/ls', '/bin/echo', '/bin/rm', '/bin/sh', '/usr/bin/bash', '/usr/bin/ls', '/sbin/init'];

/** e_machine → libguestfs's architecture names. */
const MACHINES: Record<number, (is64: boolean, le: boolean) => string> = {
  0x03: () => 'i386',
  0x3e: () => 'x86_64',
  0x28: () => 'arm',
  0xb7: () => 'aarch64',
  0x08: (is64, le) => (is64 ? (le ? 'mips64el' : 'mips64') : le ? 'mipsel' : 'mips'),
  0x14: () => 'ppc',
  0x15: (_is64, le) => (le ? 'ppc64le' : 'ppc64'),
  0x16: (is64) => (is64 ? 's390x' : 's390'),
  0x2b: () => 'sparc64',
  0x02: () => 'sparc',
  0x32: () => 'ia64',
  0xf3: (is64) => (is64 ? 'riscv64' : 'riscv32'),
  0x102: () => 'loongarch64',
};

/** Architecture from an ELF header, or undefined when the bytes are not ELF. */
export function elfArch(head: Buffer): string | undefined {
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  const machine = le ? head.readUInt16LE(18) : head.readUInt16BE(18);
  return MACHINES[machine]?.(is64, le);
}

/** The guest's architecture from the first real binary found (symlinks followed inside the guest). */
export async function detectArch(g: GuestView): Promise<string | undefined> {
  for (const bin of ARCH_BINARIES) {
    if (!(await g.isFile(bin))) continue;
    const real = (await g.realpath(bin)) ?? bin;
    const head = await g.head(real, 64);
    const arch = head && elfArch(head);
    if (arch) return arch;
  }
  return undefined;
}
