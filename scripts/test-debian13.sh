#!/bin/sh
# The test suite against Dovecot 2.4: built and run inside a Debian 13 root (made once by
# scripts/debian13-root.sh, cached) in a private mount namespace, from this same tree, into
# build-debian13/. As root, on Debian 12 or any host with mmdebstrap.
#
#   scripts/test-debian13.sh [MESON_TEST_ARGS...]   default: the unit and integration tests
#   scripts/test-debian13.sh --ci                   CI's part (README, "Try it"); scripts/test.sh
#                                                   runs it as --ci-build (the root and the
#                                                   build) and --ci-test (the tests)
# With --ci and --ci-test, the Debian 12 half of the 2.3 -> 2.4 upgrade test runs first, here on
# the host with its build in ./build (Dovecot 2.3, PostgreSQL 15; not rebuilt: build it first),
# and hands a database, a key, a worker state and mail stores over to the Debian 13 half in the
# root (tests/integration/test_upgrade_24.cpp), through build/upgrade-handoff. Without a
# Debian 12 build that test is left out, with a message.
# Exits non-zero when the root cannot be made, or the build or a test fails inside it.
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)
root=$(sh scripts/debian13-root.sh)
status=0
case "${1:-}" in
  --ci | --ci-test)
    if [ -x build/tests/integration-tests ]; then
      # The hand-off is set even when this half fails: the other half then says it is missing.
      IMAPMIG_UPGRADE_HANDOFF=$src/build/upgrade-handoff
      export IMAPMIG_UPGRADE_HANDOFF
      meson test -C build --no-rebuild --print-errorlogs --num-processes 1 \
        --logbase ci-upgrade-from-2.3 --suite upgrade-from-2.3 || status=$?
      python3 scripts/test-summary.py build/meson-logs/ci-upgrade-from-2.3.json \
        "debian12 upgrade hand-off"
    else
      echo "test-debian13: no Debian 12 build in ./build: the 2.3 -> 2.4 upgrade test is left out"
    fi
    ;;
esac
sh scripts/in-root.sh "$root" "$src" sh scripts/test-in-root.sh build-debian13 "$@" || status=$?
exit $status
