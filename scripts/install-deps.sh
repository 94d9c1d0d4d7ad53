#!/bin/sh
# Installs the Debian 12 packages the build, the tests and the demo need (as root).
# Only what is missing; no services are configured (tests start their own instances).
set -eu
PACKAGES="dovecot-core dovecot-imapd dovecot-dev dovecot-pgsql offlineimap3 postgresql
  libpq-dev libcurl4-openssl-dev libyaml-cpp-dev catch2 meson ninja-build pkg-config g++
  libsodium-dev libcrypt-dev openssl python3 util-linux clang-14 libclang-rt-14-dev"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
