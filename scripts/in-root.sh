#!/bin/sh
# Runs a command inside a root made by scripts/make-root.sh, in a private mount namespace:
#
#   scripts/in-root.sh DIR SRC COMMAND [ARG...]
#
# SRC (a source tree) appears at the same path inside, so build trees and absolute paths work
# the same on both sides; COMMAND starts in SRC. The network is the host's: 127.0.0.1 ports and
# pids are shared, so tests inside start and stop their servers as on the host. The cache of the
# old providers' roots (scripts/make-test-root.sh, $IMAPMIG_TEST_ROOT_CACHE) is the host's too:
# a root made on either side serves both, under the same lock. Every mount ends with the
# namespace's last process, nothing is left on the host. As root.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 ROOT_DIR SOURCE_DIR COMMAND [ARG...]" >&2; exit 2; }
root=$(realpath "$1") src=$(realpath "$2")
shift 2
cache=${IMAPMIG_TEST_ROOT_CACHE:-/var/cache/imapmig-test-roots}
mkdir -p "$cache"
cache=$(realpath "$cache")
[ -f "$root/.imapmig-root" ] || { echo "$0: $root is not a root from make-root.sh" >&2; exit 1; }
exec unshare -m --propagation private -- /bin/sh -eu -c '
  root=$1 src=$2 cache=$3
  shift 3
  # A root bound onto itself is a mount point of its own: what is mounted below stays private.
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mkdir -p "$root/dev/shm" "$root$src"
  mountpoint -q "$root/dev/shm" || mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
  mount --bind "$src" "$root$src"
  mkdir -p "$root$cache"
  mount --bind "$cache" "$root$cache"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  cd "$src"
  exec chroot "$root" /usr/bin/env -C "$src" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
' in-root "$root" "$src" "$cache" "$@"
