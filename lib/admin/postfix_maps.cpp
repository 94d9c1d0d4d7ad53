#include "admin/postfix_maps.hpp"

#include <libpq-fe.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace imapmig {

namespace {

// The local part and domain of the key, in SQL: Postfix substitutes %s already quoted.
#define KEY_LOCAL "split_part('%s', '@', 1)"
#define KEY_DOMAIN "split_part('%s', '@', 2)"

const char *const alias_maps_query =
    // explicit aliases, catch-alls (@domain) included
    "SELECT r.recipient FROM aliases a JOIN alias_recipients r ON r.alias_id = a.id "
    "JOIN domains d ON d.id = a.domain_id WHERE a.address = '%s' AND a.enabled AND d.enabled "
    "UNION ALL "
    // a mailbox maps to itself, so a catch-all of its domain does not swallow it
    "SELECT ac.address FROM accounts ac JOIN domains d ON d.id = ac.domain_id "
    "WHERE ac.address = '%s' AND ac.enabled AND d.enabled AND NOT EXISTS "
    "(SELECT 1 FROM aliases a WHERE a.address = '%s' AND a.enabled) "
    "UNION ALL "
    // local@alias.domain -> local@target, when that is a mailbox or an alias
    "SELECT " KEY_LOCAL " || '@' || t.name FROM domain_aliases da "
    "JOIN domains t ON t.id = da.target_domain_id WHERE da.name = " KEY_DOMAIN " AND " KEY_LOCAL
    " <> '' AND da.enabled AND t.enabled AND (EXISTS (SELECT 1 FROM accounts ac WHERE "
    "ac.address = " KEY_LOCAL " || '@' || t.name AND ac.enabled) OR EXISTS (SELECT 1 FROM "
    "aliases a WHERE a.address = " KEY_LOCAL " || '@' || t.name AND a.enabled)) "
    "UNION ALL "
    // @alias.domain -> the target domain's catch-all
    "SELECT r.recipient FROM domain_aliases da JOIN domains t ON t.id = da.target_domain_id "
    "JOIN aliases a ON a.address = '@' || t.name JOIN alias_recipients r ON r.alias_id = a.id "
    "WHERE '@' || da.name = '%s' AND da.enabled AND t.enabled AND a.enabled";

// A mailbox whose user is proxied to the old provider until the first complete sync
// (`cutover: proxy`) is deferred (Postfix's retry(8) service: the mail waits in the queue, or at
// the sender's, and is tried again) instead of delivered: mail delivered here before that sync
// would be invisible to the proxied user and would take the UIDs the old mail keeps. Only while
// the sync can still complete on its own (pending, syncing, incomplete): a failed, stopped or
// rejected migration waits for an admin, so its mail is delivered here rather than bounced
// when the queue lifetime ends.
const char *const transport_maps_query =
    "SELECT service || ':[' || target_host || ']:' || target_port FROM relay_domains "
    "WHERE name = '%s' AND enabled "
    "UNION ALL "
    "SELECT 'retry:4.2.0 mailbox being migrated (delivered after its first sync)' "
    "FROM migrations m JOIN accounts ac ON ac.id = m.account_id "
    "WHERE ac.address = '%s' AND m.proxy_until_synced AND m.first_synced_at IS NULL "
    "AND m.state IN ('pending', 'syncing', 'incomplete')";

const char *const sender_login_query =
    "SELECT ac.username FROM accounts ac JOIN domains d ON d.id = ac.domain_id "
    "WHERE ac.address = '%s' AND ac.enabled AND d.enabled "
    "UNION "
    // an alias (not a catch-all) may be used by its recipients that are local accounts
    "SELECT ac.username FROM aliases a JOIN domains d ON d.id = a.domain_id "
    "JOIN alias_recipients r ON r.alias_id = a.id JOIN accounts ac ON ac.address = r.recipient "
    "WHERE a.address = '%s' AND a.address NOT LIKE '@%%' AND a.enabled AND d.enabled "
    "AND ac.enabled "
    "UNION "
    // local@alias.domain: the owner of local@target
    "SELECT ac.username FROM domain_aliases da JOIN domains t ON t.id = da.target_domain_id "
    "JOIN accounts ac ON ac.address = " KEY_LOCAL " || '@' || t.name WHERE da.name = " KEY_DOMAIN
    " AND " KEY_LOCAL " <> '' AND da.enabled AND t.enabled AND ac.enabled";

struct ConninfoOptionsFree {
    void operator()(PQconninfoOption *o) const { PQconninfoFree(o); }
};

std::string percent_encode(std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::vector<std::string> split_list(const std::string &s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        const size_t comma = s.find(',', start);
        out.push_back(
            s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return out;
}

// One `hosts` entry for host (or socket dir) and port.
std::string host_entry(const std::string &host, const std::string &port,
                       const PostfixPgsqlTarget &t) {
    const bool socket = host.starts_with("/");
    if (!socket)
        return "inet:" + host + (port.empty() ? "" : ":" + port);
    if (port.empty() || port == "5432")
        return "unix:" + host;
    std::string uri = "postgresql://" + percent_encode(t.user);
    if (!t.password.empty())
        uri += ":" + percent_encode(t.password.reveal());
    return uri + "@/" + percent_encode(t.dbname) + "?host=" + percent_encode(host) +
           "&port=" + percent_encode(port);
}

Result<void> write_file_0640(const std::string &path, const std::string &content) {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return permanent_error("cannot create " + tmp + ": " + std::strerror(errno));
    bool ok = ::fchmod(fd, 0640) == 0;
    if (const group *g = ::getgrnam("postfix"); ok && g != nullptr && ::geteuid() == 0)
        ok = ::fchown(fd, static_cast<uid_t>(-1), g->gr_gid) == 0;
    ok = ok && ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
    const int saved = errno;
    ok = (::close(fd) == 0) && ok;
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string reason = std::strerror(ok ? errno : saved);
        ::unlink(tmp.c_str());
        return permanent_error("cannot write " + path + ": " + reason);
    }
    return {};
}

} // namespace

const std::vector<PostfixMap> &postfix_maps() {
    static const std::vector<PostfixMap> maps = {
        {"virtual-mailbox-domains.cf", "virtual_mailbox_domains", "domain -> the domain",
         "SELECT name FROM domains WHERE name = '%s' AND enabled"},
        {"virtual-mailbox-maps.cf", "virtual_mailbox_maps",
         "mailbox address -> OK (delivery goes to Dovecot LMTP via virtual_transport)",
         "SELECT 'OK' FROM accounts ac JOIN domains d ON d.id = ac.domain_id "
         "WHERE ac.address = '%s' AND ac.enabled AND d.enabled"},
        {"virtual-alias-domains.cf", "virtual_alias_domains", "alias domain -> the alias domain",
         "SELECT da.name FROM domain_aliases da JOIN domains t ON t.id = da.target_domain_id "
         "WHERE da.name = '%s' AND da.enabled AND t.enabled"},
        {"virtual-alias-maps.cf", "virtual_alias_maps",
         "address or @domain -> recipients (aliases, catch-alls, alias domains)", alias_maps_query},
        {"relay-domains.cf", "relay_domains", "relay domain -> the relay domain",
         "SELECT name FROM relay_domains WHERE name = '%s' AND enabled"},
        {"transport-maps.cf", "transport_maps",
         "relay domain -> service:[host]:port; mailbox proxied until its first sync -> retry:",
         transport_maps_query},
        {"sender-login-maps.cf", "smtpd_sender_login_maps",
         "sender address -> the logins that may use it", sender_login_query},
    };
    return maps;
}

Result<PostfixPgsqlTarget> postfix_pgsql_target(const std::string &conninfo) {
    char *err = nullptr;
    std::unique_ptr<PQconninfoOption, ConninfoOptionsFree> opts(
        PQconninfoParse(conninfo.c_str(), &err));
    if (!opts) {
        const std::string reason = err ? err : "out of memory";
        PQfreemem(err);
        return config_error("database: not a valid libpq conninfo: " + reason);
    }
    std::string host, hostaddr, port;
    PostfixPgsqlTarget t;
    for (const PQconninfoOption *o = opts.get(); o->keyword != nullptr; ++o) {
        const std::string_view key = o->keyword;
        const std::string val = o->val ? o->val : "";
        if (key == "host")
            host = val;
        else if (key == "hostaddr")
            hostaddr = val;
        else if (key == "port")
            port = val;
        else if (key == "user")
            t.user = val;
        else if (key == "password")
            t.password = SecretString(val);
        else if (key == "dbname")
            t.dbname = val;
    }
    if (t.dbname.empty())
        return config_error("database: the conninfo names no dbname (Postfix needs one)");
    const auto hosts = split_list(!hostaddr.empty() ? hostaddr
                                  : host.empty()    ? "/var/run/postgresql"
                                                    : host);
    const auto ports = split_list(port);
    for (size_t i = 0; i < hosts.size(); ++i)
        t.hosts += (i ? " " : "") + host_entry(hosts[i],
                                               ports.size() == 1  ? ports[0]
                                               : i < ports.size() ? ports[i]
                                                                  : "",
                                               t);
    return t;
}

std::string render_postfix_map(const PostfixPgsqlTarget &target, const PostfixMap &map) {
    std::string out = "# Postfix " + map.parameter + ": " + map.comment +
                      "\n# Written by `imap-migrator postfix-maps`; see pgsql_table(5).\n"
                      "hosts = " +
                      target.hosts + "\n";
    if (!target.user.empty())
        out += "user = " + target.user + "\n";
    if (!target.password.empty())
        out += "password = " + std::string(target.password.reveal()) + "\n";
    return out + "dbname = " + target.dbname + "\nquery = " + map.query + "\n";
}

Result<std::vector<std::string>> write_postfix_maps(const std::string &dir,
                                                    const PostfixPgsqlTarget &target) {
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
        return permanent_error("cannot create " + dir + ": " + std::strerror(errno));
    std::vector<std::string> written;
    for (const auto &map : postfix_maps()) {
        const std::string path = dir + "/" + map.file;
        if (auto w = write_file_0640(path, render_postfix_map(target, map)); !w)
            return w.error();
        written.push_back(path);
    }
    return written;
}

std::string postfix_main_cf_lines(const std::string &dir) {
    std::string out;
    for (const auto &map : postfix_maps())
        out += map.parameter + " = pgsql:" + dir + "/" + map.file + "\n";
    return out;
}

} // namespace imapmig
