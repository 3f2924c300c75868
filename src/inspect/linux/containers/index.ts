import type { GuestView } from '../../guest-view.js';
import type { ContainerImage } from '../../types.js';
import { containerdImages } from './containerd.js';
import { dockerImages } from './docker.js';
import { podmanImages } from './podman.js';

/**
 * Container images of every engine's store found in the guest; undefined when there is none.
 * Rootless Podman keeps a store per user (~/.local/share/containers/storage); homes are looked
 * at only when /etc/containers (shipped by podman, buildah, cri-o) exists.
 */
export async function containerImages(g: GuestView): Promise<ContainerImage[] | undefined> {
  const found = [await dockerImages(g), await podmanImages(g), await containerdImages(g)];
  if (await g.isDir('/etc/containers')) {
    const homes = ['/root', ...(await g.entries('/home')).filter((e) => e.type === 'directory').map((e) => `/home/${e.name}`)];
    for (const h of homes) found.push(await podmanImages(g, `${h}/.local/share/containers/storage`));
  }
  if (found.every((f) => f === undefined)) return undefined;
  return found.flatMap((f) => f ?? []);
}
