#!/bin/sh
# Builds (once) a Debian root for building and testing in, from Debian's mirror, and keeps it
# as a tarball in a cache so later runs only unpack it.
#
#   scripts/make-root.sh [-p 'PRESEED LINE']... SUITE DIR PACKAGE...
#
# DIR ends up a complete root with PACKAGE... installed (no recommends) and a policy-rc.d that
# keeps services from starting at install: tests start their own servers. The cache key is the
# suite, the mirror, the preseeding and the package list, so changing any of them builds a new
# root. Enter the root with scripts/in-root.sh. As root; needs mmdebstrap on the host.
set -eu

usage() { echo "usage: $0 [-p 'debconf preseed line']... SUITE DIR PACKAGE..." >&2; exit 2; }
preseed=""
while getopts p: opt; do
  case $opt in
    p) preseed="$preseed$OPTARG
" ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] || usage
suite=$1 dir=$2
shift 2
packages=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
cache=${IMAPMIG_ROOT_CACHE:-/var/cache/imapmig-roots}

# The host's Debian mirror (sources.list or deb822 .sources): the first archive that is not the
# security one.
mirror=${IMAPMIG_MIRROR:-$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources 2>/dev/null |
  sed -n -e 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' -e 's/^URIs: *\([^ ]*\).*/\1/p' |
  grep -v security | head -n 1)}
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

key=$(printf '%s\n' "$suite" "$mirror" "$preseed" "$packages" | sha256sum | cut -c1-16)
tarball="$cache/$suite-$key.tar"

if [ -f "$dir/.imapmig-root" ] && [ "$(cat "$dir/.imapmig-root")" = "$key" ]; then
  exit 0
fi

if [ ! -f "$tarball" ]; then
  command -v mmdebstrap >/dev/null || {
    echo "$0: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }
  mkdir -p "$cache"
  echo "building the $suite root from $mirror (a few minutes, once; cached in $tarball)" >&2
  preseed_file=$(mktemp)
  trap 'rm -f "$preseed_file" "$tarball.part"' EXIT
  printf '%s' "$preseed" >"$preseed_file"
  # The preseeding must be in place before the packages that ask: after the Essential set.
  mmdebstrap --variant=minbase --format=tar --quiet \
    --essential-hook="cat '$preseed_file' | chroot \"\$1\" debconf-set-selections" \
    --include="$(echo $packages | tr ' ' ',')" \
    --customize-hook='chroot "$1" apt-get clean' \
    "$suite" "$tarball.part" "$mirror"
  mv "$tarball.part" "$tarball"
  rm -f "$preseed_file"
  trap - EXIT
fi

echo "unpacking the $suite root into $dir" >&2
# A root that a private mount namespace still uses is not touched: they end with their process.
rm -rf "$dir"
mkdir -p "$dir"
tar -C "$dir" -xpf "$tarball"
# Services never start on install inside (postgresql, dovecot, postfix): tests run their own.
printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
chmod 755 "$dir/usr/sbin/policy-rc.d"
grep -qs localhost "$dir/etc/hosts" || printf '127.0.0.1 localhost\n::1 localhost\n' >>"$dir/etc/hosts"
echo "$key" >"$dir/.imapmig-root"
