import type { GuestView } from '../guest-view.js';
import { parseKeyValue } from '../parse.js';

/** /etc/HOSTNAME, /etc/hostname, then HOSTNAME= in /etc/sysconfig/network (libguestfs's order). */
export async function detectHostname(g: GuestView): Promise<string | undefined> {
  for (const file of ['/etc/HOSTNAME', '/etc/hostname']) {
    const text = await g.text(file, 64 * 1024);
    const first = text?.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
    if (first) return first;
  }
  const net = await g.text('/etc/sysconfig/network', 64 * 1024);
  const h = net ? parseKeyValue(net).get('HOSTNAME') : undefined;
  return h || undefined;
}
