#!/bin/sh
# The main demo on a fresh Debian 12 or 13, as root: install, build, then a first login with old
# credentials against a private old provider, PostgreSQL and new Dovecot (all on 127.0.0.1).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
sh scripts/build.sh >/dev/null
sh scripts/install-settings-module.sh build
export IMAPMIG_SOURCE_ROOT="$PWD" IMAPMIG_BUILD_ROOT="$PWD/build"
export IMAPMIG_MODULE="$PWD/build/plugin/libauthdb_imapmigration.so"
export IMAPMIG_MIGRATOR="$PWD/build/migrator/imap-migrator"
exec ./build/tests/imapmig-demo
