#include "admin/dovecot_sql_conf.hpp"

namespace imapmig {

namespace {

bool is_setting(std::string_view line, std::string_view key) {
    if (!line.starts_with(key))
        return false;
    size_t eq = line.find_first_not_of(" \t", key.size());
    return eq != std::string_view::npos && line[eq] == '=';
}

std::string connect_line(const DovecotSqlConfOptions &o) {
    if (o.with_connect)
        return "connect = " + o.database;
    return "# connect = <the database of imap-migration.yaml: it may hold a password, so it is "
           "printed only with --with-connect>";
}

} // namespace

std::string render_dovecot_sql_conf(std::string_view text, const DovecotSqlConfOptions &o) {
    std::string out;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (is_setting(line, "connect"))
            out += connect_line(o);
        else if (is_setting(line, "default_pass_scheme") && !o.password_scheme.empty())
            out += "default_pass_scheme = " + o.password_scheme;
        else
            out += line;
        out += '\n';
    }
    return out;
}

} // namespace imapmig
