import { BinaryReader } from '../../util/binary.js';
import type { GuestView } from '../guest-view.js';

/** COFF machine types (winnt.h IMAGE_FILE_MACHINE_*) in virt-inspector's arch names. */
const MACHINES: Record<number, string> = {
  0x14c: 'i386',
  0x8664: 'x86_64',
  0xaa64: 'aarch64',
  0x1c4: 'arm',
  0x200: 'ia64',
};

/** The architecture a PE image was built for, or undefined when it is not a PE image. */
export function peMachine(head: Buffer): string | undefined {
  const r = new BinaryReader(head, 'PE header');
  if (head.length < 0x40 || r.cstring(0, 2) !== 'MZ') return undefined;
  const pe = r.u32le(0x3c);
  if (pe + 6 > head.length || r.cstring(pe, 4) !== 'PE') return undefined;
  const m = r.u16le(pe + 4);
  return MACHINES[m] ?? `unknown-0x${m.toString(16)}`;
}

/** Architecture from the kernel (ntoskrnl.exe) or, failing that, cmd.exe, as libguestfs does. */
export async function detectWindowsArch(g: GuestView, systemRoot: string): Promise<string | undefined> {
  for (const f of ['System32/ntoskrnl.exe', 'System32/cmd.exe']) {
    const head = await g.head(`${systemRoot}/${f}`, 4096);
    if (!head) continue;
    const m = peMachine(head);
    if (m) return m;
  }
  return undefined;
}
