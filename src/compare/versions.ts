/**
 * Package version ordering for image comparison: says whether a changed package was upgraded or
 * downgraded, with the ecosystem orders of src/versions; an unknown package format gives no direction.
 */
import { compareVersions as compareIn, ecosystemOfPackageFormat } from '../versions/index.js';

export interface PkgVersion {
  epoch: number;
  version: string;
  release: string;
}

/** The version as its package manager prints it: `[epoch:]version[-release]`. */
export function formatVersion(v: PkgVersion): string {
  return `${v.epoch ? `${v.epoch}:` : ''}${v.version}${v.release ? `-${v.release}` : ''}`;
}

export { dpkgPartCompare } from '../versions/dpkg.js';
export { rpmPartCompare } from '../versions/rpm.js';

/** <0, 0, >0 as `a` is older, equal or newer than `b`; undefined for a format with no known order. */
export function compareVersions(a: PkgVersion, b: PkgVersion, format: string | undefined): number | undefined {
  const eco = format === undefined ? undefined : ecosystemOfPackageFormat(format);
  return eco ? compareIn(eco, formatVersion(a), formatVersion(b)) : undefined;
}
