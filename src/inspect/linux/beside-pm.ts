import type { GuestView } from '../guest-view.js';
import type { OtherApplication } from '../types.js';
import { containerImages } from './containers/index.js';
import { detectFlatpaks } from './flatpak.js';
import { detectSnaps } from './snap.js';

/**
 * Software beside the package manager: snaps, flatpaks, container images on the node.
 * Read from their metadata files only (no squashfs, no layer, no container is opened).
 * undefined when the guest has none of these stores (a few stats/readdirs in all).
 */
export async function detectOtherApplications(g: GuestView): Promise<OtherApplication[] | undefined> {
  const found: (OtherApplication[] | undefined)[] = [await detectSnaps(g), await detectFlatpaks(g), await containerImages(g)];
  if (found.every((f) => f === undefined)) return undefined;
  return found.flatMap((f) => f ?? []);
}
