import type { Vfs } from '../fs/vfs.js';
import { GuestSession } from '../inspect/session.js';
import { compareFiles, normaliseGuestPath } from './files.js';
import { inventoryDiff } from './inventory.js';
import { loadSide, type LoadedSide, type SideInput } from './load.js';
import { recommendations } from './recommend.js';
import type { CompareReport, SideSummary } from './types.js';

export * from './types.js';
export { readInspectionDocument, type SideInput } from './load.js';

export interface CompareRequest {
  baseline: SideInput;
  target: SideInput;
  /** Installed packages (default true). */
  packages?: boolean;
  /** Guest folders or files whose contents are compared (/etc for configuration); none: no file comparison. */
  paths?: string[];
  /** Count modification times as differences (default false). */
  timestamps?: boolean;
  /** Add recommendations (default false). */
  recommendations?: boolean;
  /** Real paths every image file (and its backing files) must lie under. */
  allowedRoots?: readonly string[];
  /** Called as each step starts (a protocol phase and a message). */
  onStage?: (phase: string, message: string) => void;
  signal?: AbortSignal;
}

function summary(s: LoadedSide): SideSummary {
  const os = s.os;
  const out: SideSummary = { path: s.path, source: s.source, distro: os.distro, version: `${os.major_version}.${os.minor_version}`, root: os.root };
  if (os.product_name !== undefined) out.product_name = os.product_name;
  if (os.pretty_name !== undefined) out.pretty_name = os.pretty_name;
  if (os.hostname !== undefined) out.hostname = os.hostname;
  if (os.arch !== undefined) out.arch = os.arch;
  return out;
}

/** The guest's file tree (its first OS), for the file comparison. */
async function withTree<T>(side: LoadedSide, req: CompareRequest, fn: (vfs: Vfs) => Promise<T>): Promise<T> {
  const session = await GuestSession.open([side.path], { format: side.format, allowedRoots: req.allowedRoots });
  try {
    const roots = await session.roots();
    const root = roots.find((r) => r.root.device.device === side.os.root) ?? roots[0];
    if (!root) return await fn(await session.osView());
    return await fn(root.vfs);
  } finally {
    await session.close();
  }
}

/**
 * Compares two guests, each an image or a saved inspection: OS drift, packages, services,
 * users and groups, and (with `paths`) the files under the given folders. Reads only.
 */
export async function compare(req: CompareRequest): Promise<CompareReport> {
  const packages = req.packages !== false;
  const stage = req.onStage ?? (() => undefined);
  const sides: LoadedSide[] = [];
  for (const [label, input] of [['baseline', req.baseline], ['target', req.target]] as const) {
    stage('disk_inspection', `inspecting the ${label} ${input.path}`);
    sides.push(await loadSide(input, { packages, allowedRoots: req.allowedRoots, label, onStage: (s) => stage(s, `${label}: ${s.replace(/_/g, ' ')}`) }));
  }
  const [a, b] = sides as [LoadedSide, LoadedSide];
  stage('result_generation', 'comparing the inventories');
  const inv = inventoryDiff(a.os, b.os, { packages });
  const report: CompareReport = {
    baseline: summary(a),
    target: summary(b),
    os: inv.os,
    ...(inv.packages ? { packages: inv.packages } : {}),
    ...(inv.services ? { services: inv.services } : {}),
    ...(inv.users ? { users: inv.users } : {}),
    ...(inv.groups ? { groups: inv.groups } : {}),
    summary: undefined as never,
    warnings: [...a.warnings, ...b.warnings, ...inv.warnings],
  };
  const paths = (req.paths ?? []).map(normaliseGuestPath);
  if (paths.length > 0) {
    const saved = sides.filter((s) => s.source === 'inspection');
    if (saved.length > 0) {
      report.warnings.push(`files not compared: ${saved.map((s) => `the ${s === a ? 'baseline' : 'target'} (${s.path})`).join(' and ')} ${saved.length > 1 ? 'are saved inspections, which hold' : 'is a saved inspection, which holds'} no file contents; compare images for that`);
    } else {
      stage('file_compare', `comparing files under ${paths.join(', ')}`);
      report.files = await withTree(a, req, (va) => withTree(b, req, (vb) => compareFiles(va, vb, paths, { timestamps: req.timestamps, signal: req.signal })));
      if (report.files.truncated) report.warnings.push('file comparison stopped at the entry limit; narrow the paths');
    }
  }
  report.summary = {
    identical: false,
    os_changes: report.os.changes.length + report.os.kernels_added.length + report.os.kernels_removed.length,
    packages_added: report.packages?.added.length ?? 0,
    packages_removed: report.packages?.removed.length ?? 0,
    packages_changed: report.packages?.changed.length ?? 0,
    services_enabled: report.services?.enabled.length ?? 0,
    services_disabled: report.services?.disabled.length ?? 0,
    services_changed: report.services?.changed.length ?? 0,
    users_added: report.users?.added.length ?? 0,
    users_removed: report.users?.removed.length ?? 0,
    users_changed: report.users?.changed.length ?? 0,
    groups_added: report.groups?.added.length ?? 0,
    groups_removed: report.groups?.removed.length ?? 0,
    groups_changed: report.groups?.changed.length ?? 0,
    files_added: report.files?.added.length ?? 0,
    files_removed: report.files?.removed.length ?? 0,
    files_modified: report.files?.modified.length ?? 0,
  };
  report.summary.identical = Object.entries(report.summary).every(([k, v]) => k === 'identical' || v === 0);
  if (req.recommendations) report.recommendations = recommendations(report);
  return report;
}
