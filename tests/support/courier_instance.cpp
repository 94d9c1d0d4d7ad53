#include "courier_instance.hpp"

#include "process.hpp"
#include "temp_dir.hpp"

namespace testsupport {

namespace {

// The root's /etc/courier is replaced by the instance's copy (authdaemonrc edited, the userdb
// written there by the start script). couriertcpd runs in the foreground and logs to stderr.
// IDLE is left out of the capabilities. Mail belongs to the root's `mail` user: imapd's FAM
// client (gamin) names its socket after the user and, for a uid without a passwd entry, waits
// 1.5 s on every command for a gam_server it cannot reach.
const char *const start_script = R"(#!/bin/sh
set -eu
mkdir -p /run/courier/authdaemon /srv/home
chown courier:courier /run/courier /run/courier/authdaemon
chmod 0750 /run/courier/authdaemon
if [ -f /srv/users ]; then
  while IFS='	' read -r user pass; do
    home=/srv/home/$user
    mkdir -p "$home"
    maildirmake "$home/Maildir"
    chown -R mail:mail "$home"
    userdb "$user" set uid=8 gid=8 home="$home" mail="$home/Maildir"
    printf '%s\n' "$pass" | userdbpw -md5 | userdb "$user" set systempw
  done < /srv/users
  rm -f /srv/users
  makeuserdb
fi
set +u # Courier's config files use unset variables
set -a
. /etc/courier/authdaemonrc
. /etc/courier/imapd
. /etc/courier/imapd-ssl
IMAP_CAPABILITY="IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA"
set +a
/usr/lib/courier/courier-authlib/authdaemond &
exec /usr/sbin/couriertcpd -address=127.0.0.1 -maxprocs=40 -maxperip=40 -nodnslookup \
  -noidentlookup "$PORT" /usr/lib/courier/courier/imaplogin /usr/bin/imapd Maildir
)";

} // namespace

CourierInstance::CourierInstance()
    : port_(free_tcp_port()), server_({"courier",
                                       debian_test_root(root_packages()),
                                       {{"etc-courier", "/etc/courier"}},
                                       "/srv/start.sh",
                                       port_}) {}

std::vector<std::string> CourierInstance::root_packages() {
    return {"courier-imap", "courier-authlib-userdb"};
}

void CourierInstance::add_user(const std::string &address, const std::string &password) {
    users_.emplace_back(address, password);
}

void CourierInstance::start() {
    const std::string etc = server_.dir() + "/etc-courier";
    run_checked({"rm", "-rf", etc});
    run_checked({"cp", "-a", debian_test_root(root_packages()) + "/etc/courier", etc});
    // Only the userdb: the root's default is PAM (its /etc/passwd users).
    std::string rc = read_file(etc + "/authdaemonrc");
    const auto line = rc.find("\nauthmodulelist=");
    rc.replace(line + 1, rc.find('\n', line + 1) - line - 1, "authmodulelist=\"authuserdb\"");
    write_file(etc + "/authdaemonrc", rc, 0640);
    std::string script = start_script;
    script.replace(script.find("\"$PORT\""), 7, std::to_string(port_));
    write_file(server_.dir() + "/start.sh", script, 0755);
    std::string users;
    for (const auto &[address, password] : users_)
        users += address + "\t" + password + "\n";
    write_file(server_.dir() + "/users", users, 0600);
    server_.start();
}

} // namespace testsupport
