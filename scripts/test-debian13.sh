#!/bin/sh
# The test suite against Dovecot 2.4: built and run inside a Debian 13 root (made once by
# scripts/debian13-root.sh, cached) in a private mount namespace, from this same tree, into
# build-debian13/. As root, on Debian 12 or any host with mmdebstrap.
#
#   scripts/test-debian13.sh [MESON_TEST_ARGS...]   default: the unit and integration tests
#   scripts/test-debian13.sh --ci                   CI's part (README, "Try it"); scripts/test.sh
#                                                   runs it as --ci-build (the root and the
#                                                   build) and --ci-test (the tests)
# Exits non-zero when the root cannot be made, or the build or a test fails inside it.
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)
root=$(sh scripts/debian13-root.sh)
exec sh scripts/in-root.sh "$root" "$src" sh scripts/test-in-root.sh build-debian13 "$@"
