#!/bin/sh
# The whole test suite on a fresh Debian 12, as root: install, build, run unit + integration.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
sh scripts/build.sh
status=0
meson test -C build --print-errorlogs --num-processes 1 || status=$?
# One closing line for humans and CI, counted from Catch2's own summaries.
python3 scripts/test-summary.py build/meson-logs/testlog.json
exit $status
