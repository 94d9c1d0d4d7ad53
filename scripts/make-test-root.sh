#!/bin/sh
# Builds (once) a Debian root holding packages that cannot be installed beside this machine's
# Dovecot (cyrus-imapd, courier-imap: all three provide and conflict with imap-server), for the
# integration tests that run them as old providers. Prints the root's path on stdout.
#
#   scripts/make-test-root.sh [--suite S] PACKAGE...
#
# The root is cached under $IMAPMIG_TEST_ROOT_CACHE (default /var/cache/imapmig-test-roots), in a
# directory named for a hash of the suite, the package list and this script's format version, so
# a second run (or another checkout on the same machine) reuses it in no time. A clean machine
# pays about a minute per root (mmdebstrap, minbase + the packages, from Debian's mirror).
# Concurrent callers for one root are serialised by a lock; a root is published only once complete (rename).
# Inside the root a policy-rc.d exits 101, so no package starts a service at install (or ever);
# the tests start the servers themselves, privately, on 127.0.0.1.
#
# Needs root and mmdebstrap (scripts/install-deps.sh installs it). The mirror is
# $IMAPMIG_DEBIAN_MIRROR (default http://deb.debian.org/debian; security updates from
# $IMAPMIG_DEBIAN_SECURITY, default http://deb.debian.org/debian-security).
set -eu

FORMAT=1 # bump when the way a root is made changes, to invalidate cached roots
suite=bookworm
if [ "${1:-}" = "--suite" ]; then
  suite=$2
  shift 2
fi
if [ $# -eq 0 ]; then
  echo "usage: $0 [--suite S] PACKAGE..." >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "$0: needs root (mmdebstrap in root mode, chroot)" >&2
  exit 1
fi
command -v mmdebstrap >/dev/null || {
  echo "$0: mmdebstrap is missing (apt-get install mmdebstrap, or scripts/install-deps.sh)" >&2
  exit 1
}

mirror=${IMAPMIG_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${IMAPMIG_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
cache=${IMAPMIG_TEST_ROOT_CACHE:-/var/cache/imapmig-test-roots}
packages=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ' | sed 's/ $//')
key=$(printf 'format=%s suite=%s packages=%s\n' "$FORMAT" "$suite" "$packages" |
  sha256sum | cut -c1-16)
name=$suite-$(printf '%s' "${packages%% *}" | tr -c 'a-zA-Z0-9.-' '_')-$key
root=$cache/$name

mkdir -p "$cache"
chmod 0755 "$cache"
if [ -f "$root/.imapmig-root-complete" ]; then
  echo "$root"
  exit 0
fi

# One lock per root: different roots are made side by side, the same one only once.
exec 9>"$cache/.lock-$name"
flock 9
if [ -f "$root/.imapmig-root-complete" ]; then # made by another caller while we waited
  echo "$root"
  exit 0
fi

work=$cache/.building-$name.$$
rm -rf "$cache"/.building-"$name".* "$root"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
echo "make-test-root: building $root ($suite: $packages); the first run takes a minute or two" >&2

# The setup hook runs before any package is installed: the policy-rc.d is in place for all of
# them. The sources include security updates so the root gets the same versions as a patched
# Debian 12.
include=$(printf '%s' "$packages" | tr ' ' ',')
mmdebstrap --quiet --mode=root --variant=minbase --include="$include" \
  --setup-hook='mkdir -p "$1/usr/sbin" && printf "#!/bin/sh\nexit 101\n" > "$1/usr/sbin/policy-rc.d" && chmod 0755 "$1/usr/sbin/policy-rc.d"' \
  --customize-hook='chroot "$1" apt-get clean' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/*' \
  "$suite" "$work" \
  "deb $mirror $suite main" \
  "deb $mirror $suite-updates main" \
  "deb $security $suite-security main" >&2

printf 'suite=%s\npackages=%s\n' "$suite" "$packages" >"$work/.imapmig-root-complete"
mv "$work" "$root"
trap - EXIT
echo "make-test-root: $root ready in $(($(date +%s) - start)) s" >&2
echo "$root"
