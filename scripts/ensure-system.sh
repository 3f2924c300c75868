#!/usr/bin/env bash
# Installs the Debian tools that guest images are made with.
#   ensure-system.sh demo   what `npm start` needs (the RPM/pacman guests of build-distros.sh)
#   ensure-system.sh test   that plus what every fixture of the test suite needs (default)
# Safe to run repeatedly: silent and quick when all is there. apt's output goes to a log.
set -euo pipefail
mode=${1:-test}
case "$mode" in demo | test) ;; *) echo "usage: ensure-system.sh [demo|test]" >&2; exit 2 ;; esac

# command -> Debian package. The demo builds test/fixtures/inspect/build-distros.sh's guests.
declare -A NEED=(
  [qemu-img]=qemu-utils [sgdisk]=gdisk [sfdisk]=fdisk [mkfs.ext4]=e2fsprogs [rpm]=rpm [rpmbuild]=rpm
  [sqlite3]=sqlite3 [db_load]=db-util [python3]=python3 [pacman]=pacman-package-manager [zstd]=zstd
)
if [ "$mode" = test ]; then
  NEED+=(
    [mkfs.xfs]=xfsprogs [mkfs.btrfs]=btrfs-progs [mkfs.vfat]=dosfstools [mcopy]=mtools [pvcreate]=lvm2
    [mkntfs]=ntfs-3g [wimlib-imagex]=wimtools [debootstrap]=debootstrap [cryptsetup]=cryptsetup-bin
    [genisoimage]=genisoimage [mkfs.exfat]=exfatprogs [hivexsh]=libhivex-bin [hivexregedit]=libwin-hivex-perl
    [reglookup]=reglookup [reged]=chntpw [regshell]=registry-tools [/usr/share/win64/gdbreplay.exe]=gdb-mingw-w64-target
    [blkid]=util-linux [losetup]=mount [mdadm]=mdadm [setfattr]=attr [netplan]=netplan.io [grub-editenv]=grub-common
    [apparmor_parser]=apparmor [busybox]=busybox [xxd]=xxd [openssl]=openssl [ldmtool]=ldmtool
    [cpio]=cpio [lz4]=lz4 [xz]=xz-utils [lsinitramfs]=initramfs-tools-core [unmkinitramfs]=initramfs-tools-core
    [chromium]=chromium [redis-server]=redis-server
    [/usr/lib/postgresql/15/bin/initdb]=postgresql [dpkg-architecture]=dpkg-dev
    [ostree]=ostree [nix-store]=nix-bin [flatpak]=flatpak [podman]=podman [containerd]=containerd [ctr]=containerd [go]=golang-go
    [/usr/share/gocode/src/go.etcd.io/bbolt/db.go]=golang-github-coreos-bbolt-dev [mksquashfs]=squashfs-tools [unsquashfs]=squashfs-tools
  )
fi

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] || { [[ $1 == /* ]] && [ -e "$1" ]; }; }
missing() { for cmd in "${!NEED[@]}"; do have "$cmd" || echo "${NEED[$cmd]}"; done | sort -u; }

pkgs=$(missing | tr '\n' ' ')
[ -n "$pkgs" ] || exit 0

log="$(cd "$(dirname "$0")/.." && pwd)/.cache/ensure-system.log"
mkdir -p "$(dirname "$log")"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
n=$(wc -w <<<"$pkgs")
# One line: the count and the log first, the outcome when apt is done.
s=s; [ "$n" -ne 1 ] || s=
printf 'ensure-system: installing %s Debian package%s (log: %s) … ' "$n" "$s" "$log" >&2
if ! { echo "== $(date -Is) ensure-system $mode: $pkgs"; $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q \
       && DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $pkgs; } >>"$log" 2>&1; then
  echo "failed; the log ends:" >&2
  tail -n 25 "$log" >&2
  exit 1
fi
still=$(missing | tr '\n' ' ')
if [ -n "$still" ]; then
  echo "done, but still missing the commands of: $still" >&2
  exit 1
fi
echo "done" >&2

# Redis and PostgreSQL are no longer started here: the tests that need a service start their own.
