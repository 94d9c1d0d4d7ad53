#!/bin/sh
# Installs the packages the build, the tests and the demo need on Debian 12 or 13 (as root).
# Only what is missing; no services are configured (tests start their own instances).
set -eu
PACKAGES="dovecot-core dovecot-imapd dovecot-dev dovecot-pgsql offlineimap3 postgresql
  libpq-dev libcurl4-openssl-dev libyaml-cpp-dev catch2 meson ninja-build pkg-config g++
  dovecot-pop3d libsodium-dev libcrypt-dev openssl python3 util-linux clang-14 libclang-rt-14-dev clang-format-14
  build-essential debhelper dpkg-dev fakeroot lintian ccache
  postfix postfix-pgsql postfixadmin php-pgsql php-cli
  mmdebstrap"
# Debian 13 has clang 19 (no clang-14 packages; the format check is skipped without
# clang-format-14).
if [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = trixie ]; then
  PACKAGES=$(echo $PACKAGES | sed -e 's/ clang-14 / clang /' -e 's/ libclang-rt-14-dev / libclang-rt-dev /' \
    -e 's/ clang-format-14 / /')
fi
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  apt-get update -qq
  # Postfix and postfixadmin (tests only): no main.cf questions, and no database created by
  # dbconfig-common (the tests build their own postfixadmin database).
  printf '%s\n' 'postfix postfix/main_mailer_type select No configuration' \
    'postfixadmin postfixadmin/dbconfig-install boolean false' | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
