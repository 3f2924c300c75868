import type { Hive } from '../../registry/index.js';
import type { OperatingSystem } from '../types.js';
import { CBS } from './updates.js';

type PendingReboot = NonNullable<OperatingSystem['pending_reboot']>;
type UpdateSettings = NonNullable<OperatingSystem['windows_update']>;

export const WU_REBOOT_REQUIRED = 'Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired';
export const WU_POLICY = 'Policies\\Microsoft\\Windows\\WindowsUpdate';

/**
 * The markers Windows leaves while a reboot is pending: SOFTWARE's Component Based Servicing
 * RebootPending key and Windows Update's Auto Update\RebootRequired key (their presence is the
 * marker), and SYSTEM's Session Manager PendingFileRenameOperations (and …2): pairs of source and
 * target paths MoveFileEx queued for the next boot, counted as operations.
 */
export async function readPendingReboot(software: Hive | undefined, system: Hive | undefined, cs: string): Promise<PendingReboot> {
  const markers: string[] = [];
  if (software && (await software.key(`${CBS}\\RebootPending`))) markers.push('cbs_reboot_pending');
  if (software && (await software.key(WU_REBOOT_REQUIRED))) markers.push('windows_update_reboot_required');
  let renames = 0;
  const sm = await system?.key(`${cs}\\Control\\Session Manager`);
  for (const name of ['PendingFileRenameOperations', 'PendingFileRenameOperations2']) {
    const list = (await sm?.value(name))?.strings();
    // the list is pairs (source, target — empty for a deletion); a trailing unpaired entry still counts
    if (list && list.length) renames += Math.ceil(list.length / 2);
  }
  if (renames) markers.push('pending_file_rename_operations');
  return { pending: markers.length > 0, markers, ...(renames ? { file_rename_operations: renames } : {}) };
}

/** AUOptions as the Group Policy "Configure Automatic Updates" setting names them. */
const AU_OPTIONS: Record<number, string> = {
  1: 'disabled',
  2: 'notify_download',
  3: 'auto_download_notify_install',
  4: 'auto_download_scheduled_install',
  5: 'local_admin_chooses',
  7: 'auto_download_notify_install_notify_restart',
};

/**
 * Windows Update policy (what Group Policy or a WSUS setup wrote): SOFTWARE\Policies\Microsoft\
 * Windows\WindowsUpdate (WUServer, WUStatusServer, TargetGroup, DisableWindowsUpdateAccess) and its AU
 * subkey (NoAutoUpdate, AUOptions, UseWUServer, ScheduledInstallDay/Time). Undefined when no policy
 * is set (Windows then updates automatically from Microsoft).
 */
export async function readUpdateSettings(software: Hive): Promise<UpdateSettings | undefined> {
  const wu = await software.key(WU_POLICY);
  if (!wu) return undefined;
  const au = await wu.subkey('AU');
  const str = async (k: typeof wu | undefined, n: string) => (await k?.value(n))?.string()?.trim() || undefined;
  const num = async (k: typeof wu | undefined, n: string) => (await k?.value(n))?.number();
  const out: UpdateSettings = { policy: true };
  const wuServer = await str(wu, 'WUServer');
  const status = await str(wu, 'WUStatusServer');
  const group = await str(wu, 'TargetGroup');
  const noAccess = await num(wu, 'DisableWindowsUpdateAccess');
  const useWu = await num(au, 'UseWUServer');
  const noAuto = await num(au, 'NoAutoUpdate');
  const opt = await num(au, 'AUOptions');
  const day = await num(au, 'ScheduledInstallDay');
  const time = await num(au, 'ScheduledInstallTime');
  if (wuServer) out.wu_server = wuServer;
  if (status) out.wu_status_server = status;
  if (group) out.target_group = group;
  if (useWu !== undefined) out.use_wu_server = useWu === 1;
  if (noAuto !== undefined) out.no_auto_update = noAuto === 1;
  if (opt !== undefined) {
    out.au_options = opt;
    out.au_options_text = AU_OPTIONS[opt] ?? `${opt}`;
  }
  if (day !== undefined) out.scheduled_install_day = day;
  if (time !== undefined) out.scheduled_install_time = time;
  if (noAccess !== undefined) out.disable_windows_update_access = noAccess === 1;
  return out;
}
