# Sourced (". scripts/ccache-env.sh") from the source root by the scripts that build, with
# $build naming the build tree: one compiler cache per tree, in BUILD/ccache, that the package
# build started from the same script inherits (meson puts ccache in front of the compiler when
# it is installed). The package builds in a copy of the tree below the source root
# (build-deb-for-tests.sh), and these settings let its compiles hit: paths are hashed relative
# to the source root, the working directory is left out (it only names the build directory in
# the debug info), and depend mode takes the headers from the compiler's -MD output instead of
# running the preprocessor a second time on every miss. No compression: the cache lives as long
# as the tree. ccache hashes the locale, and packaging/debian/rules sets LC_ALL=C.UTF-8: so
# does this. An admin's own CCACHE_DIR is kept.
: "${CCACHE_DIR:=$(cd "$build" && pwd)/ccache}"
CCACHE_BASEDIR=$(pwd)
CCACHE_NOHASHDIR=1
CCACHE_DEPEND=1
CCACHE_NOCOMPRESS=1
LC_ALL=C.UTF-8
export CCACHE_DIR CCACHE_BASEDIR CCACHE_NOHASHDIR CCACHE_DEPEND CCACHE_NOCOMPRESS LC_ALL
