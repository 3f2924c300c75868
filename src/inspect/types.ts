import type { ProtocolError } from '../protocol/errors.js';
import type { BudgetName, InspectBudgetOptions } from '../protocol/payloads/inspect-budget.js';
import { INSPECT_OPTION_DEFAULTS, type InspectOptionFlags } from '../protocol/payloads/inspect-options.js';

/** What `inspect()` returns. Keys follow virt-inspector's names where it has one. */

/** The protocol's inspect flags (include_packages …); every flag optional here. */
export type InspectFlags = Partial<InspectOptionFlags>;

/** The protocol's inspect options (guestkit.inspect.v1 `options`): the flags and the budget. */
export type InspectOptions = InspectFlags & {
  /** Resources one inspection may use (src/protocol/payloads/inspect-budget.ts has the defaults). */
  budget?: InspectBudgetOptions;
};

export const DEFAULT_INSPECT_OPTIONS: Required<InspectFlags> = INSPECT_OPTION_DEFAULTS;

/** Where a fact came from: guest paths read to establish it. */
export type Evidence = Record<string, string[]>;

export interface Application {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: string;
  source_package?: string;
  /** The source package this binary was built from, with its full version (dpkg `Source:`, rpm SOURCERPM). */
  source?: { name: string; version: string };
  /** The licence as the package database records it (rpm License, apk L:, pacman %LICENSE%); dpkg keeps none. */
  license?: string;
  summary?: string;
  url?: string;
  /** Windows: DisplayName of the Uninstall entry (name is the entry's key). */
  display_name?: string;
  /** Windows: Publisher. */
  publisher?: string;
  /** Windows: InstallLocation. */
  install_path?: string;
}

/**
 * Software installed beside the package manager: snaps, flatpaks and container images kept on
 * the node. Kept apart from `applications` (whose entries SBOM, advisory matching and package
 * diffs read as distro packages; `Application.source` there is the source package).
 */
export type OtherApplication = SnapApplication | FlatpakApplication | ContainerImage;

/** A snap, from snapd's /var/lib/snapd/state.json (the squashfs under /snap is not read). */
export interface SnapApplication {
  source: 'snap';
  /** The instance name (name_key for parallel installs). */
  name: string;
  /** Not in state.json (snapd keeps the version in the snap's own snap.yaml, inside the squashfs). */
  version?: string;
  /** The current revision ("x1" for a local install). */
  revision: string;
  /** The channel the current revision was installed from. */
  channel?: string;
  /** The channel followed for refreshes. */
  tracking?: string;
  snap_id?: string;
  /** snapd's type: app, base, core, gadget, kernel, os, snapd. */
  snap_type?: string;
  /** false for a disabled snap. */
  active: boolean;
  /** Every revision kept on disk (the current one included). */
  revisions: string[];
}

/** A flatpak app or runtime deployment. */
export interface FlatpakApplication {
  source: 'flatpak';
  /** The app or runtime id (org.example.App). */
  name: string;
  /** appdata-version of the deployment (as `flatpak list` shows), else the newest release of its metainfo. */
  version?: string;
  /** app/org.example.App/x86_64/stable */
  ref: string;
  kind: 'app' | 'runtime';
  arch: string;
  branch: string;
  /** The remote it was installed from. */
  origin?: string;
  /** The deployed commit. */
  commit: string;
  /** "system", or the guest path of a per-user installation (/home/alice/.local/share/flatpak). */
  installation: string;
  installed_size?: number;
  /** Apps: the runtime ref they use (org.freedesktop.Platform/x86_64/23.08). */
  runtime?: string;
}

/** One name of a container image stored on the node (an untagged image: one entry named by its id). */
export interface ContainerImage {
  source: 'container';
  /** The repository (docker.io/library/nginx), or the image id for an image without a name. */
  name: string;
  /** The tag; absent for a digest-only or untagged reference. */
  version?: string;
  engine: 'docker' | 'podman' | 'containerd';
  repository?: string;
  tag?: string;
  /** The manifest digest (sha256:…) the name was pulled or pushed as, when the store records one. */
  digest?: string;
  /** The image id (config digest, sha256:…). */
  image_id?: string;
  /** Bytes: unpacked layers (Docker, Podman); manifest, config and compressed layers as `ctr images ls` shows (containerd). */
  size?: number;
  /** ISO 8601, when recorded. */
  created?: string;
  /** The store's root in the guest (/var/lib/containers/storage, /var/lib/docker, …). */
  store: string;
  /** containerd: the namespace (k8s.io, moby, default). */
  namespace?: string;
}

/** Windows: a program installed for one user (the Uninstall key of the profile's NTUSER.DAT). */
export interface UserApplication extends Application {
  /** The profile folder's name (C:\Users\<user>). */
  user: string;
  /** The profile's SID (its ProfileList key). */
  sid: string;
}

/** Windows: an installed update (KB), from Component Based Servicing or an Uninstall key. */
export interface WindowsUpdate {
  /** KB5034439 */
  kb: string;
  source: 'cbs' | 'uninstall';
  /** The CBS package (Package_for_KB…~…) or Uninstall key it was read from. */
  package: string;
  /** CBS CurrentState: installed, superseded, install_pending, staged, permanent, … */
  state?: string;
  /** Install time: ISO 8601 (CBS InstallTimeHigh/Low) or a date (Uninstall InstallDate). */
  installed?: string;
  /** Uninstall keys: the product updated (ParentDisplayName, else DisplayName). */
  product?: string;
}

/** Windows: a driver package of the DriverStore (SYSTEM\DriverDatabase\DriverPackages, FileRepository). */
export interface WindowsDriver {
  /** The package folder name: viostor.inf_amd64_c4f3b2a190817263. */
  package: string;
  /** The INF file name: viostor.inf. */
  inf: string;
  /** The published name (oem5.inf for third-party packages). */
  published_name?: string;
  provider?: string;
  /** The hypervisor whose devices it drives: virtio (KVM/QEMU), vmware, hyperv, xen, virtualbox. */
  family?: string;
}

export interface Kernel {
  version: string;
  vmlinuz?: string;
  initrd?: string;
  modules_dir?: string;
}

export interface Bootloader {
  type: 'grub2' | 'grub-legacy' | 'systemd-boot' | 'syslinux' | 'unknown';
  config?: string;
  default_entry?: string;
  default_kernel?: string;
  entries: { title: string; kernel?: string; initrd?: string; options?: string }[];
  timeout?: number;
}

export interface ServiceInfo {
  name: string;
  /** systemd unit type, or 'sysv' / 'openrc'. */
  kind: string;
  enabled_in: string[];
  alias_of?: string;
  /** Windows: start type (boot, system, auto, auto-delayed, demand, disabled). */
  start?: string;
  /** Windows: the Type value (SERVICE_KERNEL_DRIVER 0x1, SERVICE_WIN32_OWN_PROCESS 0x10, …). */
  service_type?: number;
  /** Windows: ImagePath as stored (unexpanded). */
  image_path?: string;
  display_name?: string;
}

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
  login_allowed: boolean;
  password: 'locked' | 'empty' | 'set' | 'unknown';
  system: boolean;
  groups: string[];
  /** Windows: the account's SID (the machine's account domain SID plus the RID). */
  sid?: string;
  /** Windows: the account's comment (SAM V). */
  comment?: string;
  /** Windows: ACB flags of SAM F — disabled (0x0001) and locked out (0x0400). */
  disabled?: boolean;
  locked?: boolean;
  /** Windows: SAM F times (ISO 8601; absent when never) and logon count. Password hashes are never read. */
  last_logon?: string;
  password_last_set?: string;
  logon_count?: number;
}

export interface GroupInfo {
  name: string;
  gid: number;
  members: string[];
  /** Windows: the alias SID (S-1-5-32-544), its members' SIDs (members holds their names) and its comment. */
  sid?: string;
  member_sids?: string[];
  comment?: string;
}

export interface NetInterface {
  name: string;
  source: string;
  method?: string;
  addresses: string[];
  gateway?: string;
  mac?: string;
  dns?: string[];
  /** Windows: the adapter's own DNS suffix (Domain, else the DHCP-given DhcpDomain). */
  domain?: string;
  onboot?: boolean;
}

export interface FstabEntry {
  spec: string;
  file: string;
  vfstype: string;
  options: string;
  freq: number;
  passno: number;
  /** The guest device it resolved to, when it did. */
  device?: string;
}

export interface CrypttabEntry {
  name: string;
  device: string;
  keyfile: string;
  options: string;
}

export interface OperatingSystem {
  root: string;
  type: 'linux' | 'windows' | 'freebsd' | 'unknown';
  name: string;
  distro: string;
  product_name?: string;
  /** os-release's PRETTY_NAME ("Debian GNU/Linux 12 (bookworm)"); product_name follows libguestfs and can be a bare version. */
  pretty_name?: string;
  /** os-release's ID and VERSION_ID as written ("debian", "12"; "alpine", "3.19.1"), when the guest has an os-release. */
  os_release?: { id: string; version_id?: string };
  product_variant?: string;
  major_version: number;
  minor_version: number;
  arch?: string;
  hostname?: string;
  osinfo: string;
  package_format?: string;
  package_management?: string;
  /** Why there is no package list when package_format is 'none' (Flatcar: /usr is one signed image, no package database). */
  package_note?: string;
  /** Image-based systems with A/B /usr partitions (Flatcar): each, which one is mounted and its version. */
  usr_partitions?: UsrPartition[];
  /** ostree systems (Fedora CoreOS, Silverblue, RHEL for Edge): every deployment, the default (booted) one first. */
  ostree_deployments?: OstreeDeployment[];
  /** NixOS: the system generations (profile links system-N-link), oldest first. */
  nixos_generations?: NixosGeneration[];
  /** Mount point → device, as the guest's fstab says (sorted by mount point). */
  mountpoints: Record<string, string>;
  /** Devices this OS uses (mounted filesystems and swap). */
  filesystems: string[];
  applications?: Application[];
  /** Windows: per-user programs, from each profile's NTUSER.DAT (not in `applications`, as virt-inspector). */
  user_applications?: UserApplication[];
  /** Windows: installed updates by KB number (read with the package facts). */
  updates?: WindowsUpdate[];
  /** Windows Server: installed roles and features (ServerManager ServerComponentCache, InstallState 1), read with the package facts. */
  server_features?: string[];
  /** Windows: pending-reboot markers (read with the security facts). */
  pending_reboot?: { pending: boolean; markers: string[]; file_rename_operations?: number };
  /** Windows: Windows Update policy (SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate and AU), when set. */
  windows_update?: {
    policy: boolean;
    wu_server?: string;
    wu_status_server?: string;
    target_group?: string;
    use_wu_server?: boolean;
    no_auto_update?: boolean;
    au_options?: number;
    au_options_text?: string;
    scheduled_install_day?: number;
    scheduled_install_time?: number;
    disable_windows_update_access?: boolean;
  };
  /** Windows: DriverStore packages (read with the service facts), and which hypervisors' drivers are present. */
  drivers?: WindowsDriver[];
  virt_drivers?: { virtio: boolean; vmware: boolean; hyperv: boolean; xen: boolean; virtualbox: boolean };
  /** Software beside the package manager (snap, flatpak, container images); see OtherApplication. */
  other_applications?: OtherApplication[];
  kernels?: Kernel[];
  bootloader?: Bootloader;
  init_system?: string;
  default_target?: string;
  services?: ServiceInfo[];
  users?: UserInfo[];
  groups?: GroupInfo[];
  sudoers?: string[];
  network?: {
    interfaces: NetInterface[];
    dns_servers: string[];
    search_domains: string[];
    hosts: { address: string; names: string[] }[];
    managers: string[];
  };
  timezone?: string;
  locale?: string;
  security?: {
    selinux?: { mode: string; type?: string };
    apparmor?: { enabled: boolean; profiles: number };
    ssh?: Record<string, string>;
  };
  cloud_init?: { installed: boolean; datasources?: string[]; disabled?: boolean };
  guest_agents?: string[];
  fstab?: FstabEntry[];
  crypttab?: CrypttabEntry[];
  /** Fact name → guest paths it was read from. */
  evidence: Evidence;
  warnings: string[];
  /** Windows: CurrentBuildNumber; Linux: os-release BUILD_ID (Flatcar). */
  build_id?: string;
  /** Windows: EditionID (ServerStandard, Professional, …). */
  edition?: string;
  /** Windows: the system directory in the guest's filesystem (/Windows); virt-inspector's windows_systemroot. */
  windows_systemroot?: string;
  /** Windows: drive letter → device, from SYSTEM\MountedDevices. */
  drive_mappings?: Record<string, string>;
  /** Windows: the control set the registry facts were read from (ControlSet001); virt-inspector's windows_current_control_set. */
  windows_current_control_set?: string;
  /**
   * Windows: domain or workgroup membership (SECURITY hive, LSA policy): `name` is the NetBIOS
   * domain or workgroup name, `sid` the domain's SID and `dns_domain` the primary DNS suffix when joined.
   */
  domain?: { joined: boolean; name: string; sid?: string; dns_domain?: string };
}

export interface NixosGeneration {
  /** N of /nix/var/nix/profiles/system-N-link. */
  number: number;
  /** The system closure in the store it links to. */
  path: string;
  /** Its nixos-version file (23.11.20240101.a0b1c2d). */
  version?: string;
  /** The one /nix/var/nix/profiles/system points at. */
  current: boolean;
}

export interface OstreeDeployment {
  /** The stateroot (/ostree/deploy/<osname>). */
  osname: string;
  /** Commit checksum and deployment serial: /ostree/deploy/<osname>/deploy/<checksum>.<serial>. */
  checksum: string;
  serial: number;
  /** The boot loader's default entry (the OS inspected); the others are rollbacks. */
  default: boolean;
  /** The commit's `version` metadata (what `ostree admin status` shows), else os-release's. */
  version?: string;
  /** The origin file's refspec (remote:branch). */
  refspec?: string;
  /** Packages layered on the base commit (origin [rpmostree] requested-packages). */
  layered_packages?: string[];
}

export interface UsrPartition {
  device: string;
  /** GPT partition name (USR-A, USR-B). */
  label?: string;
  /** The one mounted at /usr. */
  active: boolean;
  /** GPT attribute bits 48–51, 52–55 and 56 (the ChromeOS/Flatcar boot scheme). */
  priority: number;
  tries: number;
  successful: boolean;
  /** VERSION_ID of its /lib/os-release. */
  version?: string;
}

export interface FilesystemEntry {
  device: string;
  type: string;
  uuid?: string;
  label?: string;
  size: number;
  /** What inspection found on it: root, usr, boot, swap, data, … */
  role?: string;
  /** Why its contents were not inspected: code ENCRYPTED for a BitLocker volume, key protectors in `details`. */
  error?: ProtocolError;
}

export interface InspectionStats {
  bytes_read: number;
  reads: number;
  total_ms: number;
  stages_ms: Record<string, number>;
  /** Collectors' use of the budget: directory entries listed, guest files opened, bytes of them read into memory. */
  dir_entries?: number;
  files_opened?: number;
  collected_bytes?: number;
}

/** A budget the inspection exceeded (`options.budget`). */
export interface BudgetExceeded {
  budget: BudgetName;
  limit: number;
  /** What was used when it tripped (max_file_bytes: the skipped file's size; max_wall_seconds: seconds). */
  used: number;
  /** The guest path or stage where it tripped. */
  where?: string;
}

export interface Inspection {
  image: {
    path: string;
    format: string;
    virtual_size: number;
    backing_chain: string[];
  }[];
  partition_table: { device: string; scheme: string }[];
  filesystems: FilesystemEntry[];
  operating_systems: OperatingSystem[];
  warnings: string[];
  stats: InspectionStats;
  /**
   * Present (true) only when a budget cut the inspection short: the facts are what was found
   * before it (`budget_exceeded` says which budget; a fact left out may exist in the guest).
   */
  partial?: true;
  budget_exceeded?: BudgetExceeded[];
}
