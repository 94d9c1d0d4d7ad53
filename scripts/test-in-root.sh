#!/bin/sh
# Inside a root from scripts/make-root.sh (see test-debian13.sh): builds the tree into BUILD_DIR
# and runs the tests. The root is a throwaway copy: the settings module goes into its Dovecot
# module dir, as the package would install it (Dovecot's config process, and so every doveadm
# and doveconf a test runs, loads settings modules from there only).
#
#   scripts/test-in-root.sh BUILD_DIR [MESON_TEST_ARGS...]
set -eu
build=$1
shift
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build"
moduledir=$(. /usr/lib/dovecot/dovecot-config && echo "$dovecot_moduledir")
if [ -f "$build/plugin/lib10_imapmigration_settings.so" ]; then
  install -m 0644 "$build/plugin/lib10_imapmigration_settings.so" "$moduledir/settings/"
fi
[ $# -gt 0 ] || set -- unit integration
status=0
meson test -C "$build" --print-errorlogs --num-processes 1 "$@" || status=$?
python3 scripts/test-summary.py "$build/meson-logs/testlog.json" "$(. /etc/os-release && echo "$ID$VERSION_ID")"
exit $status
