/**
 * Version ordering per package ecosystem, over full version strings as each package manager
 * prints them. The comparisons are total (any string gets an order, as the tools' algorithms
 * give one); `versionProblem`/`assertVersion` say whether the tool itself would accept a string,
 * for callers that take versions from users.
 */
import { GuestkitError } from '../protocol/errors.js';
import { apkVersionProblem, compareApk } from './apk.js';
import { compareDpkg, dpkgVersionProblem } from './dpkg.js';
import { comparePacman, pacmanVersionProblem } from './pacman.js';
import { compareRpm, rpmVersionProblem } from './rpm.js';

export type Ecosystem = 'dpkg' | 'rpm' | 'apk' | 'pacman';
export const ECOSYSTEMS: readonly Ecosystem[] = ['dpkg', 'rpm', 'apk', 'pacman'];

const COMPARE: Record<Ecosystem, (a: string, b: string) => number> = {
  dpkg: compareDpkg,
  rpm: compareRpm,
  apk: compareApk,
  pacman: comparePacman,
};

const PROBLEM: Record<Ecosystem, (v: string) => string | undefined> = {
  dpkg: dpkgVersionProblem,
  rpm: rpmVersionProblem,
  apk: apkVersionProblem,
  pacman: pacmanVersionProblem,
};

/** Negative, 0 or positive as `a` is older, equal or newer than `b` in `eco`'s order. */
export function compareVersions(eco: Ecosystem, a: string, b: string): number {
  const c = COMPARE[eco](a, b);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

/** Package format names (an inspection's `package_format`, and their aliases) → ecosystem. */
export const ECOSYSTEM_OF_FORMAT: Readonly<Record<string, Ecosystem>> = {
  deb: 'dpkg',
  dpkg: 'dpkg',
  rpm: 'rpm',
  apk: 'apk',
  pacman: 'pacman',
  alpm: 'pacman',
};

/** The ecosystem of an inspection's `package_format` ('deb', 'rpm', 'apk', 'pacman'). */
export function ecosystemOfPackageFormat(fmt: string): Ecosystem | undefined {
  return Object.hasOwn(ECOSYSTEM_OF_FORMAT, fmt) ? ECOSYSTEM_OF_FORMAT[fmt] : undefined;
}

/** Why `eco`'s package manager would refuse `v` as a version, or undefined when it is valid. */
export function versionProblem(eco: Ecosystem, v: string): string | undefined {
  return PROBLEM[eco](v);
}

/** Throws a VALIDATION_ERROR when `eco`'s package manager would refuse `v` as a version. */
export function assertVersion(eco: Ecosystem, v: string, field = 'version'): void {
  const problem = versionProblem(eco, v);
  if (problem) {
    throw new GuestkitError('VALIDATION_ERROR', `${field} ${JSON.stringify(v)} is not a valid ${eco} version: ${problem}`, {
      phase: 'validation',
      details: { field, value: v, ecosystem: eco },
    });
  }
}

export { compareApk, compareDpkg, comparePacman, compareRpm };
