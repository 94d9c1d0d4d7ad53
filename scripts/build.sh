#!/bin/sh
# Configures (once, scripts/configure-build.sh) and builds into ./build.
set -eu
cd "$(dirname "$0")/.."
sh scripts/configure-build.sh build
build=build
. scripts/ccache-env.sh
ninja -C build
