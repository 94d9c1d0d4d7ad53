#!/bin/sh
# Dovecot 2.4 reads a plugin's settings only through a settings module in its module dir's
# settings/ folder: its config process, and with it every doveconf and doveadm, loads them from
# there and nowhere else. A build for 2.4 is of use (demo, tests) only once that module is there,
# where the package puts it; this puts the one of BUILD_DIR there. Nothing to do on 2.3 (the
# build has no settings module).
#
#   scripts/install-settings-module.sh BUILD_DIR
set -eu
module="$1/plugin/lib10_imapmigration_settings.so"
[ -f "$module" ] || exit 0
moduledir=$(. /usr/lib/dovecot/dovecot-config && echo "$dovecot_moduledir")
install -D -m 0644 "$module" "$moduledir/settings/lib10_imapmigration_settings.so"
