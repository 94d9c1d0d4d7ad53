# Sourced (". scripts/ccache-env.sh") by the scripts that build, with $build naming the build
# tree: one compiler cache per tree, in BUILD/ccache, that the package build started from the same
# script inherits (meson puts ccache in front of the compiler when it is installed). Its
# settings let the package's copy of the tree (another directory, the same relative paths) hit:
# the working directory is left out of the hash (it only names the directory in the debug
# info), and depend mode takes the headers from the compiler's -MD output instead of running the
# preprocessor a second time on every miss. No compression: the cache lives as long as the tree.
# An admin's own CCACHE_DIR is kept.
: "${CCACHE_DIR:=$(cd "$build" && pwd)/ccache}"
CCACHE_NOHASHDIR=1
CCACHE_DEPEND=1
CCACHE_NOCOMPRESS=1
export CCACHE_DIR CCACHE_NOHASHDIR CCACHE_DEPEND CCACHE_NOCOMPRESS
