#include "cyrus_instance.hpp"

#include "process.hpp"
#include "temp_dir.hpp"

namespace testsupport {

namespace {

// Everything Cyrus writes lives under /srv (the instance dir); the root stays read-only.
std::string imapd_conf(CyrusLayout layout) {
    const bool beside = layout == CyrusLayout::beside_inbox;
    std::string c = "configdirectory: /srv/config\n"
                    "defaultpartition: default\n"
                    "partition-default: /srv/spool\n"
                    "sievedir: /srv/sieve\n"
                    "proc_path: /srv/proc\n"
                    "mboxname_lockpath: /srv/lock\n"
                    "lmtpsocket: /srv/socket/lmtp\n"
                    "idlesocket: /srv/socket/idle\n"
                    "notifysocket: /srv/socket/notify\n"
                    "virtdomains: userid\n"
                    "allowplaintext: yes\n"
                    "sasl_pwcheck_method: auxprop\n"
                    "sasl_auxprop_plugin: sasldb\n"
                    "sasl_sasldb_path: /srv/sasldb2\n"
                    "sasl_mech_list: PLAIN LOGIN\n"
                    "autocreate_quota: 0\n"
                    "hashimapspool: false\n"
                    "umask: 077\n"
                    "syslog_prefix: cyrus-test\n";
    c += std::string("altnamespace: ") + (beside ? "yes" : "no") + "\n";
    c += std::string("unixhierarchysep: ") + (beside ? "yes" : "no") + "\n";
    return c;
}

std::string cyrus_conf(int port) {
    return "START {\n  recover cmd=\"ctl_cyrusdb -r\"\n}\n"
           "SERVICES {\n  imap cmd=\"imapd\" listen=\"127.0.0.1:" +
           std::to_string(port) + "\" prefork=0 maxchild=50\n}\nEVENTS {\n}\n";
}

// Users come as "address<TAB>password" lines; sasldb keys them by name and realm (the domain),
// which is what Cyrus asks for a virtual-domain login.
const char *const start_script = R"(#!/bin/sh
set -eu
cd /srv
mkdir -p config/db config/socket spool sieve proc lock socket
touch sasldb2
if [ -f users ]; then
  while IFS='	' read -r user pass; do
    printf '%s' "$pass" | saslpasswd2 -p -f /srv/sasldb2 -u "${user#*@}" -c "${user%@*}" 2>/dev/null
  done < users
  rm -f users
fi
chown -R cyrus:mail config spool sieve proc lock socket sasldb2
exec /usr/lib/cyrus/bin/master
)";

} // namespace

CyrusInstance::CyrusInstance(CyrusLayout layout)
    : layout_(layout), port_(free_tcp_port()),
      server_({"cyrus",
               debian_test_root(root_packages()),
               {{"imapd.conf", "/etc/imapd.conf"}, {"cyrus.conf", "/etc/cyrus.conf"}},
               "/srv/start.sh",
               port_}) {}

std::vector<std::string> CyrusInstance::root_packages() {
    return {"cyrus-imapd", "sasl2-bin"};
}

void CyrusInstance::add_user(const std::string &address, const std::string &password) {
    users_.emplace_back(address, password);
}

void CyrusInstance::start() {
    write_file(server_.dir() + "/imapd.conf", imapd_conf(layout_), 0644);
    write_file(server_.dir() + "/cyrus.conf", cyrus_conf(port_), 0644);
    write_file(server_.dir() + "/start.sh", start_script, 0755);
    std::string users;
    for (const auto &[address, password] : users_)
        users += address + "\t" + password + "\n";
    write_file(server_.dir() + "/users", users, 0600);
    server_.start();
}

std::string CyrusInstance::description() const {
    return layout_ == CyrusLayout::beside_inbox ? "Cyrus IMAP 3.6, beside INBOX, '/'"
                                                : "Cyrus IMAP 3.6, under INBOX., '.'";
}

std::string CyrusInstance::personal_prefix() const {
    return layout_ == CyrusLayout::beside_inbox ? "" : "INBOX.";
}

char CyrusInstance::separator() const {
    return layout_ == CyrusLayout::beside_inbox ? '/' : '.';
}

} // namespace testsupport
