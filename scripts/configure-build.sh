#!/bin/sh
# Configures a build tree (once) as the Debian package's build is configured
# (packaging/debian/rules through dh_auto_configure): meson's plain build type with the flags of
# dpkg-buildflags, hardening=+all. Two reasons: the tests run the code the package ships (-O2,
# _FORTIFY_SOURCE, NDEBUG), and the package build next to the tests (build-deb-for-tests.sh)
# finds the library's, the plugin's and the migrator's objects in ccache (scripts/ccache-env.sh)
# instead of compiling them a second time: ccache needs the same compiler command line.
#
#   scripts/configure-build.sh BUILD_DIR [MESON_SETUP_ARGS...]
#
# Run from the source root: dpkg-buildflags maps the current directory out of the debug info.
set -eu
build=$1
shift
[ ! -f "$build/build.ninja" ] || exit 0
DEB_BUILD_MAINT_OPTIONS=hardening=+all
export DEB_BUILD_MAINT_OPTIONS
eval "$(dpkg-buildflags --export=sh)"
LC_ALL=C.UTF-8 meson setup "$build" --buildtype=plain "$@" >/dev/null
