import type { InventoryImage, PackageHit } from '../ports/inventory.js';

/** GET /inventory/images items; packages items carry the same image fields without `packages`. */
export interface InventoryImageView {
  image_path: string;
  namespace: string;
  /** The inspection job the facts come from, and when it finished. */
  job_id: string;
  finished_at: string;
  os: InventoryImage['os'];
  /** How many packages the image's first OS has. */
  packages?: number;
}

export interface InventoryPackageView extends Omit<InventoryImageView, 'packages'> {
  /** The hit: a distro package, snap, flatpak or container image, with its source's identifying fields. */
  package: Omit<PackageHit, 'image'>;
}

export interface InventoryAnswer<T> {
  items: T[];
  truncated: boolean;
  warnings: string[];
}
