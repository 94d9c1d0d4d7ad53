#include "admin/dovecot_sql_conf.hpp"

#include <libpq-fe.h>

#include <memory>

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

// Dovecot 2.4 has no connect string: the conninfo's keywords go into the `pgsql { parameters
// { } }` block one per line (libpq parses it, so quoting and defaults are its own).
std::string parameter_lines(const DovecotSqlConfOptions &o, std::string_view indent) {
    if (!o.with_connect)
        return std::string(indent) +
               "# <the database of imap-migration.yaml: it may hold a password, so it is printed "
               "only with --with-connect>\n";
    char *error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(o.database.c_str(), &error), &PQconninfoFree);
    if (!options) {
        std::string out = std::string(indent) + "# cannot parse the database conninfo";
        if (error != nullptr) {
            out += std::string(": ") + error;
            PQfreemem(error);
            if (out.back() == '\n')
                out.pop_back();
        }
        return out + "\n";
    }
    std::string out;
    for (const PQconninfoOption *opt = options.get(); opt->keyword != nullptr; ++opt) {
        if (opt->val == nullptr)
            continue;
        std::string value;
        for (const char *c = opt->val; *c != '\0'; ++c) {
            if (*c == '"' || *c == '\\')
                value += '\\';
            value += *c;
        }
        out += std::string(indent) + opt->keyword + " = \"" + value + "\"\n";
    }
    return out;
}

std::string_view trimmed(std::string_view line) {
    const size_t start = line.find_first_not_of(" \t");
    return start == std::string_view::npos ? std::string_view() : line.substr(start);
}

} // namespace

std::string render_dovecot_sql_conf(std::string_view text, const DovecotSqlConfOptions &o) {
    std::string out;
    bool in_parameters = false; // 2.4: the lines of `parameters { }` are replaced
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        const std::string_view setting = trimmed(line);
        const std::string_view indent = line.substr(0, line.size() - setting.size());
        if (in_parameters) {
            if (setting != "}")
                continue;
            in_parameters = false;
            out += line;
        } else if (setting == "parameters {") {
            in_parameters = true;
            out += std::string(line) + '\n' + parameter_lines(o, std::string(indent) + "  ");
            continue;
        } else if (is_setting(line, "connect")) {
            out += connect_line(o);
        } else if (is_setting(line, "default_pass_scheme") && !o.password_scheme.empty()) {
            out += "default_pass_scheme = " + o.password_scheme;
        } else if (is_setting(setting, "default_password_scheme") && !o.password_scheme.empty()) {
            out += std::string(indent) + "default_password_scheme = " + o.password_scheme;
        } else {
            out += line;
        }
        out += '\n';
    }
    return out;
}

} // namespace imapmig
