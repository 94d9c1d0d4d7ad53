#!/bin/sh
# The Debian 13 (trixie) root this tree is built and tested in next to the host's Debian 12:
# Dovecot 2.4, PostgreSQL 17, Catch2 v3, g++ 14. Prints the root's path.
#
#   scripts/debian13-root.sh [DIR]      (default /var/tmp/imapmig-debian13)
set -eu
here=$(dirname "$0")
dir=${1:-${IMAPMIG_DEBIAN13_ROOT:-/var/tmp/imapmig-debian13}}
command -v mmdebstrap >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap; }
# The same list as scripts/install-deps.sh, in trixie's names, without clang: the fuzzers run
# on the Debian 12 side only, and clang with its LLVM is a fifth of the root to fetch and unpack
# (in-root builds leave the fuzz targets out, with meson's warning).
sh "$here/make-root.sh" \
  -p 'postfix postfix/main_mailer_type select No configuration' \
  -p 'postfixadmin postfixadmin/dbconfig-install boolean false' \
  trixie "$dir" \
  dovecot-core dovecot-imapd dovecot-pop3d dovecot-dev dovecot-pgsql offlineimap3 postgresql \
  libpq-dev libcurl4-openssl-dev libyaml-cpp-dev catch2 meson ninja-build pkg-config g++ \
  libsodium-dev libcrypt-dev openssl python3 util-linux procps ca-certificates \
  build-essential debhelper dpkg-dev fakeroot lintian ccache mmdebstrap \
  postfix postfix-pgsql postfixadmin php-pgsql php-cli >&2
echo "$dir"
