import type { GuestView } from '../../guest-view.js';
import type { ContainerImage } from '../../types.js';
import { containerdImages } from './containerd.js';
import { dockerImages } from './docker.js';
import { podmanImages } from './podman.js';

/** Container images of every engine's store found in the guest; undefined when there is none. */
export async function containerImages(g: GuestView): Promise<ContainerImage[] | undefined> {
  const found = [await dockerImages(g), await podmanImages(g), await containerdImages(g)];
  if (found.every((f) => f === undefined)) return undefined;
  return found.flatMap((f) => f ?? []);
}
