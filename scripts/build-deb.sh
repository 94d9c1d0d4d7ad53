#!/bin/sh
# Builds the Debian package from the tree as it is (committed or not):
#
#     sh scripts/build-deb.sh [--no-lintian] [OUTDIR]       (OUTDIR default: ./dist)
#
# Copies the tree (without .git and meson build dirs) to a temp dir, puts packaging/debian there
# as ./debian, runs `dpkg-buildpackage -us -uc -b`, copies the .deb, .buildinfo and .changes to
# OUTDIR and runs lintian on them (failing on lintian errors). The repository itself never gets a
# ./debian. DEB_BUILD_OPTIONS is honoured: `nocheck` skips building and running the tests.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
lintian=yes
if [ "${1:-}" = "--no-lintian" ]; then
  lintian=no
  shift
fi
out=${1:-$root/dist}

version=$(sed -n "s/^ *version : '\([^']*\)',\$/\1/p" "$root/meson.build" | head -n 1)
deb_version=$(dpkg-parsechangelog -l "$root/packaging/debian/changelog" -S Version)
if [ "$version" != "$deb_version" ]; then
  echo "build-deb: meson.build says $version, packaging/debian/changelog says $deb_version" >&2
  exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/imapmig-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
src="$work/dovecot-imap-migration-$version"
mkdir "$src"
tar -C "$root" --exclude=./.git --exclude=./debian --exclude=./dist \
  --exclude-tag-all=build.ninja -cf - . | tar -C "$src" -xf -
cp -RL "$root/packaging/debian" "$src/debian"

if [ -z "${DEB_BUILD_OPTIONS:-}" ] || ! echo "$DEB_BUILD_OPTIONS" | grep -q parallel=; then
  DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} parallel=$(nproc)"
  export DEB_BUILD_OPTIONS
fi
(cd "$src" && dpkg-buildpackage -us -uc -b)

arch=$(dpkg --print-architecture)
changes="dovecot-imap-migration_${version}_${arch}.changes"
for f in "$work"/*.deb "$work"/*.buildinfo "$work/$changes"; do
  cp "$f" "$out/"
done
echo "build-deb: $out/dovecot-imap-migration_${version}_${arch}.deb"
if [ "$lintian" = yes ]; then
  lintian --fail-on error --display-info "$out/$changes"
  echo "build-deb: lintian: no errors"
fi
