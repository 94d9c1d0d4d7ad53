#!/bin/sh
# Inside a root from scripts/make-root.sh (see test-debian13.sh): builds the tree into BUILD_DIR
# and runs the tests. The root is a throwaway copy: the settings module goes into its Dovecot
# module dir, as the package would install it (Dovecot's config process, and so every doveadm
# and doveconf a test runs, loads settings modules from there only).
#
#   scripts/test-in-root.sh BUILD_DIR --ci-build   builds what CI's part needs (no fuzzers,
#                                                  benchmarks, demo, package test)
#   scripts/test-in-root.sh BUILD_DIR --ci-test    runs CI's part: the unit tests and the meson
#                                                  suite ci24 (README, "Try it"), no rebuild
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
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null

if [ "$mode" = ci ] || [ "$mode" = ci-build ]; then
  ninja -C "$build" -j "$jobs" tests/unit-tests tests/integration-tests migrator/imap-migrator \
    plugin/libauthdb_imapmigration.so plugin/lib10_imapmigration_settings.so
elif [ "$mode" = all ]; then
  ninja -C "$build" -j "$jobs"
fi
[ "$mode" != ci-build ] || exit 0

moduledir=$(. /usr/lib/dovecot/dovecot-config && echo "$dovecot_moduledir")
if [ -f "$build/plugin/lib10_imapmigration_settings.so" ]; then
  install -m 0644 "$build/plugin/lib10_imapmigration_settings.so" "$moduledir/settings/"
fi
status=0
if [ "$mode" = all ]; then
  [ $# -gt 0 ] || set -- unit integration
  meson test -C "$build" --print-errorlogs --num-processes 1 "$@" || status=$?
  python3 scripts/test-summary.py "$build/meson-logs/testlog.json" "$label"
  exit $status
fi
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 1 --logbase ci-unit \
  unit || status=$?
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 1 --logbase ci24 \
  --suite ci24 || status=$?
python3 scripts/test-summary.py "$build/meson-logs/ci-unit.json" "$label unit"
python3 scripts/test-summary.py "$build/meson-logs/ci24.json" "$label integration (ci24)"
exit $status
