#!/bin/sh
# The whole test suite on a fresh Debian 12, as root: install, build, run unit + integration
# (+ package, format, fuzzers, the benchmarks' quick runs) against Dovecot 2.3; and the same
# tree against Dovecot 2.4 in a Debian 13 root (README, "Try it"): the root is made (or unpacked
# from its cache) and the tree built in it in the background while the Debian 12 suite runs,
# which mostly waits on its servers; CI's part of the suite runs there afterwards.
# IMAPMIG_SKIP_DEBIAN13=1 leaves Debian 13 out. Fails when any part fails.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
sh scripts/build.sh
d13=${IMAPMIG_SKIP_DEBIAN13:-0}
d13_log=build/debian13-ci-build.log
if [ "$d13" != 1 ]; then
  started=$(date +%s)
  IMAPMIG_BUILD_JOBS=2 nice -n 10 sh scripts/test-debian13.sh --ci-build >"$d13_log" 2>&1 </dev/null &
  d13_build=$!
fi
status=0
meson test -C build --print-errorlogs --num-processes 1 || status=$?
# One closing line for humans and CI, counted from Catch2's own summaries.
python3 scripts/test-summary.py build/meson-logs/testlog.json debian12
if [ "$d13" != 1 ]; then
  built=0
  wait "$d13_build" || built=$?
  echo "test.sh: Debian 13 root and build done $(($(date +%s) - started)) s after they started"
  if [ "$built" != 0 ]; then
    tail -n 40 "$d13_log"
    echo "test.sh: the Debian 13 root or build FAILED (exit $built; $d13_log)" >&2
    status=1
  else
    tested=$(date +%s)
    sh scripts/test-debian13.sh --ci-test </dev/null || {
      echo "test.sh: the Debian 13 (Dovecot 2.4) tests FAILED" >&2
      status=1
    }
    echo "test.sh: the Debian 13 tests took $(($(date +%s) - tested)) s"
  fi
fi
exit $status
