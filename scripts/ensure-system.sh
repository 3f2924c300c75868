#!/usr/bin/env bash
# Installs the Debian tools the fixtures are made with and starts the local
# services the tests talk to. Safe to run repeatedly; does nothing when all is there.
set -euo pipefail

# command -> Debian package
declare -A NEED=(
  [qemu-img]=qemu-utils [sgdisk]=gdisk [sfdisk]=fdisk [mkfs.xfs]=xfsprogs
  [mkfs.btrfs]=btrfs-progs [mkfs.vfat]=dosfstools [mcopy]=mtools [pvcreate]=lvm2
  [mkntfs]=ntfs-3g [wimlib-imagex]=wimtools [debootstrap]=debootstrap [rpm]=rpm
  [rpmbuild]=rpm [mkfs.ext4]=e2fsprogs [zstd]=zstd [cryptsetup]=cryptsetup-bin
  [genisoimage]=genisoimage [mkfs.exfat]=exfatprogs [sqlite3]=sqlite3 [db_load]=db-util
  [hivexsh]=libhivex-bin [hivexregedit]=libwin-hivex-perl [reglookup]=reglookup [reged]=chntpw [regshell]=registry-tools [/usr/share/win64/gdbreplay.exe]=gdb-mingw-w64-target [pacman]=pacman-package-manager [blkid]=util-linux [losetup]=mount [redis-server]=redis-server [setfattr]=attr
  [netplan]=netplan.io [grub-editenv]=grub-common [apparmor_parser]=apparmor [busybox]=busybox [xxd]=xxd [openssl]=openssl
)
missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || [ -x "/sbin/$cmd" ] || missing+=("${NEED[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "ensure-system: installing Debian packages: $pkgs" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $pkgs >&2
fi

# Services: Redis and PostgreSQL (used by the cluster-mode tests).
if command -v redis-cli >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "ensure-system: starting redis" >&2
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2 || true
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  echo "ensure-system: starting postgresql" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >&2 || true
fi
