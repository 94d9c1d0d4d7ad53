#!/bin/sh
# The whole test suite on a fresh Debian 12, as root: install, build, run unit + integration
# (+ package, format, fuzzers, the benchmarks' quick runs) against Dovecot 2.3; and the same
# tree against Dovecot 2.4 in a Debian 13 root (README, "Try it"): the root is made (or unpacked
# from its cache), the tree built in it and the same suite run there (no fuzzers), all in the
# background while the Debian 12 part builds and runs; the script waits for both.
# IMAPMIG_SKIP_DEBIAN13=1 leaves Debian 13 out. Fails when any part fails.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
d13=${IMAPMIG_SKIP_DEBIAN13:-0}
if [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" != bookworm ] && [ "$d13" != 1 ]; then
  # On Debian 13 this machine's Dovecot is the 2.4 the root would bring: the suite runs here.
  # The 2.3 -> 2.4 upgrade test needs a Debian 12 machine (its first half runs on 2.3).
  echo "test.sh: not Debian 12: the suite runs against this machine's Dovecot only (no Debian 13" \
    "root, no 2.3 -> 2.4 upgrade test)"
  d13=1
fi
mkdir -p build
d13_log=build/debian13-ci.log
sync_dir=$(mktemp -d /tmp/imapmig-test.XXXXXX)
trap 'rm -rf "$sync_dir"' EXIT
if [ "$d13" != 1 ]; then
  # The root, the build and then the 2.4 tests, in the background from the start: the root is
  # made (mostly downloads) while the 2.3 tree builds, and its build shares the CPU with the 2.3
  # build and tests as an equal (this part is the longer one; only the .deb builds for the
  # package tests, which wait until the end, are niced); its tests run in a root of their own
  # (its own /usr, PostgreSQL and Dovecot; ports picked free on 127.0.0.1 like the 2.3 tests').
  started=$(date +%s)
  (
    IMAPMIG_BUILD_JOBS=2 sh scripts/test-debian13.sh --ci-build || exit 10
    echo "test.sh: Debian 13 root and build done $(($(date +%s) - started)) s after they started"
    # The upgrade test's Debian 12 half (test-debian13.sh --ci-test) runs on ./build.
    while [ ! -f "$sync_dir/debian12-built" ]; do sleep 2; done
    tested=$(date +%s)
    sh scripts/test-debian13.sh --ci-test || status=$?
    echo "test.sh: the Debian 13 tests took $(($(date +%s) - tested)) s"
    exit ${status:-0}
  ) >"$d13_log" 2>&1 </dev/null &
  d13_job=$!
fi
build_status=0
sh scripts/build.sh || build_status=$?
touch "$sync_dir/debian12-built"
[ "$build_status" != 0 ] || sh scripts/install-settings-module.sh build || build_status=$?
if [ "$build_status" != 0 ]; then
  echo "test.sh: the Debian 12 build FAILED" >&2
  [ "$d13" = 1 ] || wait "$d13_job" || true
  exit 1
fi
status=0
# The package test's .deb is built in the background meanwhile (build-deb-for-tests.sh); the
# package test runs last, from it.
# It shares build/ccache with the build above: only the packaging steps are left to do.
debdir=$(pwd)/build/package-deb
build=build
. scripts/ccache-env.sh
sh scripts/build-deb-for-tests.sh "$debdir" &
deb_job=$!
# Three at a time: the integration shards run side by side; the benchmarks' quick runs take the
# first slot one leaves.
meson test -C build --print-errorlogs --num-processes 3 --no-suite package || status=$?
wait "$deb_job" || true
IMAPMIG_PACKAGE_BUILT=$debdir meson test -C build --no-rebuild --print-errorlogs \
  --logbase package --suite package || status=$?
# One closing line for humans and CI, counted from Catch2's own summaries.
label=$(. /etc/os-release && echo "$ID$VERSION_ID")
python3 scripts/test-summary.py build/meson-logs/testlog.json "$label"
python3 scripts/test-summary.py build/meson-logs/package.json "$label package"
if [ "$d13" != 1 ]; then
  waited=$(date +%s)
  d13_status=0
  wait "$d13_job" || d13_status=$?
  echo "test.sh: waited $(($(date +%s) - waited)) s for the Debian 13 part after the 2.3 suite"
  grep -E '^test\.sh: |^(Ok|Fail|Timeout): |: [0-9]+ passed, [0-9]+ failed$' "$d13_log" || true
  if [ "$d13_status" = 10 ]; then
    tail -n 40 "$d13_log"
    echo "test.sh: the Debian 13 root or build FAILED ($d13_log)" >&2
    status=1
  elif [ "$d13_status" != 0 ]; then
    tail -n 100 "$d13_log"
    echo "test.sh: the Debian 13 (Dovecot 2.4) tests FAILED ($d13_log)" >&2
    status=1
  fi
fi
exit $status
