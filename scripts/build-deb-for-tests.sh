#!/bin/sh
# The package test's .deb, built ahead of it while the other tests run (they mostly wait on
# their servers): build-deb.sh into DEBDIR, its output in DEBDIR/build-deb.log and its exit code
# in DEBDIR/build-deb.status, which the package test reads (IMAPMIG_PACKAGE_BUILT=DEBDIR).
# nocheck: the suite that runs the package test has built and runs the tests itself. Niced
# to the last: nothing waits for it until the end. The package's copy of the tree goes below
# DEBDIR (TMPDIR), inside the source root, so that with scripts/ccache-env.sh the build finds
# the test build's objects in ccache (configure-build.sh gives both the same compiler flags).
#
#   scripts/build-deb-for-tests.sh DEBDIR
set -u
debdir=$1
rm -rf "$debdir"
mkdir -p "$debdir/tmp"
status=0
TMPDIR=$debdir/tmp DEB_BUILD_OPTIONS=nocheck \
  nice -n 19 sh "$(dirname "$0")/build-deb.sh" "$debdir" \
  >"$debdir/build-deb.log" 2>&1 </dev/null || status=$?
echo "$status" >"$debdir/build-deb.status"
