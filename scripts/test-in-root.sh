#!/bin/sh
# Inside a root from scripts/make-root.sh (see test-debian13.sh): builds the tree into BUILD_DIR
# and runs the tests. The root is a throwaway copy: the settings module goes into its Dovecot
# module dir, as the package would install it (Dovecot's config process, and so every doveadm
# and doveconf a test runs, loads settings modules from there only).
#
#   scripts/test-in-root.sh BUILD_DIR --ci-build   builds what CI's part needs (no fuzzers,
#                                                  demo)
#   scripts/test-in-root.sh BUILD_DIR --ci-test    runs CI's part, no rebuild: the unit and
#                                                  integration tests, the benchmarks' quick
#                                                  runs, the 2.3 -> 2.4 upgrade test when
#                                                  $IMAPMIG_UPGRADE_HANDOFF names the Debian 12
#                                                  side's hand-off (test-debian13.sh makes it),
#                                                  and the package test
#   scripts/test-in-root.sh BUILD_DIR --ci         both
#   scripts/test-in-root.sh BUILD_DIR [MESON_TEST_ARGS...]   builds everything and runs the
#                                                  tests given, default the unit and integration
# IMAPMIG_BUILD_JOBS: ninja's -j (default 2). Exits non-zero when the build or a test fails.
set -eu
build=$1
shift
label=$(. /etc/os-release && echo "$ID$VERSION_ID")
jobs=${IMAPMIG_BUILD_JOBS:-2}
mode=all
case "${1:-}" in
  --ci | --ci-build | --ci-test) mode=${1#--}; shift ;;
esac
sh scripts/configure-build.sh "$build"
# The host's cache dir, if any, is not this root's: the tree's own (the package build below
# shares it).
unset CCACHE_DIR
. scripts/ccache-env.sh

if [ "$mode" = ci ] || [ "$mode" = ci-build ]; then
  ninja -C "$build" -j "$jobs" tests/unit-tests tests/integration-tests tests/package-tests \
    migrator/imap-migrator plugin/libauthdb_imapmigration.so plugin/lib10_imapmigration_settings.so \
    bench/login-bench bench/scale-bench bench/sync-bench
elif [ "$mode" = all ]; then
  ninja -C "$build" -j "$jobs"
fi
[ "$mode" != ci-build ] || exit 0

sh scripts/install-settings-module.sh "$build"
status=0
if [ "$mode" = all ]; then
  [ $# -gt 0 ] || set -- unit integration
  meson test -C "$build" --print-errorlogs --num-processes 1 "$@" || status=$?
  python3 scripts/test-summary.py "$build/meson-logs/testlog.json" "$label"
  exit $status
fi
# The package test's .deb is built meanwhile (build-deb-for-tests.sh).
debdir=$(pwd)/$build/package-deb
sh scripts/build-deb-for-tests.sh "$debdir" &
deb_job=$!
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 1 --logbase ci-unit \
  unit || status=$?
# The integration shards side by side, as on Debian 12 (scripts/test.sh); the benchmarks' quick
# runs take the first slot a shard leaves.
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 3 --logbase ci-integration \
  --suite integration --suite bench || status=$?
if [ -n "${IMAPMIG_UPGRADE_HANDOFF:-}" ]; then
  meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 1 \
    --logbase ci-upgrade --suite upgrade-to-2.4 || status=$?
fi
# Last: it installs and purges the .deb, and the purge takes the settings module installed
# above with it.
wait "$deb_job" || true
IMAPMIG_PACKAGE_BUILT=$debdir meson test -C "$build" --no-rebuild --print-errorlogs \
  --num-processes 1 --logbase ci-package --suite package || status=$?
python3 scripts/test-summary.py "$build/meson-logs/ci-unit.json" "$label unit"
python3 scripts/test-summary.py "$build/meson-logs/ci-integration.json" \
  "$label integration and benchmarks (quick)"
if [ -n "${IMAPMIG_UPGRADE_HANDOFF:-}" ]; then
  python3 scripts/test-summary.py "$build/meson-logs/ci-upgrade.json" "$label upgrade from 2.3"
fi
python3 scripts/test-summary.py "$build/meson-logs/ci-package.json" "$label package"
exit $status
