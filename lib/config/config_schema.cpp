// The schema of imap-migration.yaml: every key's type, default (the member initialisers in
// config.hpp), requiredness and checks, declared once in the tables at the end of this file.
#include "config/config_schema.hpp"

#include "config/config_files.hpp"
#include "config/folder_pattern.hpp"

#include "crypto/passwords.hpp"
#include "crypto/secrets.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

namespace imapmig::config_schema {

void Loader::error(int line, std::string key, std::string message) {
    errors_.push_back({file_, line, std::move(key), std::move(message)});
}

std::optional<std::string> Loader::declare(const std::string &kind, const std::string &value,
                                           int line, const std::string &key) {
    std::string here = file_ + ":" + std::to_string(line) + " (" + key + ")";
    auto [it, inserted] = declared_.emplace(std::make_pair(kind, value), here);
    if (inserted)
        return std::nullopt;
    return it->second;
}

int line_of(const YAML::Node &node) {
    return std::max(node.Mark().line + 1, 0);
}

namespace {

// ---------------------------------------------------------------------------------------------
// Renamed keys, in schema form (list indices written `[]`). A key found here is reported as
// renamed instead of unknown. The first entries are the names Modoboa's imap_migration used.
struct RenamedKey {
    std::string_view old_key;
    std::string_view new_key;
};

constexpr RenamedKey renamed_keys[] = {
    {"max_sync_accounts", "sync.max_parallel_accounts"},
    {"create_folders", "sync.create_folders"},
    {"folder_filter_exclude", "sync.folder_exclude"},
    {"folder_filter_include", "sync.folder_include"},
    {"server_address", "local_imap.host"},
    {"server_port", "local_imap.port"},
    {"providers[].address", "providers[].host"},
    {"providers[].domains[].new_domain", "providers[].domains[].local_domain"},
};

// Keys that no longer exist, with what to do instead (schema form, like renamed_keys). Only keys
// without a one-to-one successor belong here.
struct RemovedKey {
    std::string_view key;
    std::string_view instead;
};

constexpr RemovedKey removed_keys[] = {
    {"enable_imap_migration",
     "delete it: the passdb is active once 10-auth.conf includes auth-imapmigration.conf.ext"},
    {"dovecot_lookup_path",
     "write `dovecot_bin_dir: DIR` instead, the directory that holds doveadm"},
    {"sync.offlineimap_config",
     "delete it: the worker writes a private config for each run; for a cron-style setup run "
     "`imap-migrator generate-offlineimap-config --output FILE`"},
    {"providers[].secured", "write `security: tls` (or `starttls`) instead"},
};

// "providers[2].domains[0].x" -> "providers[].domains[].x"
std::string schema_path(const std::string &path) {
    std::string out;
    bool in_index = false;
    for (char c : path) {
        if (c == '[')
            in_index = true;
        else if (c == ']')
            in_index = false;
        else if (in_index)
            continue;
        out += c;
    }
    return out;
}

// Fills the `[]` of a schema path with the indices of an actual path, in order.
std::string with_indices(std::string_view schema, const std::string &actual) {
    std::vector<std::string> indices;
    for (size_t open = actual.find('['); open != std::string::npos;
         open = actual.find('[', open + 1))
        indices.push_back(actual.substr(open + 1, actual.find(']', open) - open - 1));
    std::string out;
    size_t next = 0;
    for (size_t i = 0; i < schema.size(); ++i) {
        out += schema[i];
        if (schema[i] == '[' && i + 1 < schema.size() && schema[i + 1] == ']' &&
            next < indices.size())
            out += indices[next++];
    }
    return out;
}

std::optional<std::string> renamed_to(const std::string &path) {
    const std::string schema = schema_path(path);
    for (const auto &r : renamed_keys)
        if (r.old_key == schema)
            return with_indices(r.new_key, path);
    return std::nullopt;
}

std::optional<std::string_view> removed_advice(const std::string &path) {
    const std::string schema = schema_path(path);
    for (const auto &r : removed_keys)
        if (r.key == schema)
            return r.instead;
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Typed readers. A Kind<T> says what a value must look like and turns a node into a T, reporting
// a diagnostic (and returning nullopt) when it cannot.

struct Item {
    YAML::Node node;
    std::string path; // dotted key, e.g. providers[0].port
    int line;         // the line of the key (or of the list entry)
};

template <class T> using Parse = std::function<std::optional<T>(Loader &, const Item &)>;

template <class T> struct Kind {
    std::string expected; // completes "expected ..."
    Parse<T> parse;
};

std::string join_path(const std::string &parent, const std::string &key) {
    return parent.empty() ? key : parent + "." + key;
}

std::string join(const std::vector<std::string> &words, std::string_view sep = ", ") {
    std::string out;
    for (const auto &w : words)
        out += (out.empty() ? "" : std::string(sep)) + w;
    return out;
}

bool is_plain_scalar(const YAML::Node &node) {
    return node.IsScalar() && node.Tag() == "?";
}

std::string quote(std::string_view text) {
    constexpr size_t max_shown = 60;
    std::string shown(text.substr(0, max_shown));
    return "\"" + shown + (text.size() > max_shown ? "...\"" : "\"");
}

std::string describe(const YAML::Node &node) {
    switch (node.Type()) {
    case YAML::NodeType::Sequence:
        return node.size() == 0 ? "an empty list" : "a list";
    case YAML::NodeType::Map:
        return "a mapping";
    case YAML::NodeType::Scalar:
        if (node.Scalar().empty())
            return "an empty string";
        return (is_plain_scalar(node) ? "" : "the quoted string ") + quote(node.Scalar());
    default:
        return "nothing";
    }
}

void expected_but_got(Loader &l, const Item &it, const std::string &expected) {
    l.error(it.line, it.path, "expected " + expected + ", got " + describe(it.node));
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

template <class T> Kind<T> integer(T lo, T hi) {
    std::string expected = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    return {expected, [=](Loader &l, const Item &it) -> std::optional<T> {
                const std::string &text = it.node.Scalar();
                int64_t v = 0;
                auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
                if (!is_plain_scalar(it.node) || text.empty() ||
                    ec == std::errc::invalid_argument || end != text.data() + text.size()) {
                    expected_but_got(l, it, expected);
                    return std::nullopt;
                }
                if (ec == std::errc::result_out_of_range || v < lo || v > hi) {
                    l.error(it.line, it.path, "expected " + expected + ", got " + text);
                    return std::nullopt;
                }
                return static_cast<T>(v);
            }};
}

Kind<bool> boolean() {
    std::string expected = "true or false";
    return {expected, [=](Loader &l, const Item &it) -> std::optional<bool> {
                bool v = false;
                if (!is_plain_scalar(it.node) || !YAML::convert<bool>::decode(it.node, v)) {
                    expected_but_got(l, it, expected);
                    return std::nullopt;
                }
                return v;
            }};
}

// Checks (and may normalise) a string; the error message is complete ("expected ..., got ...").
using Refine = std::function<Result<std::string>(std::string)>;

enum class Empty { refused, allowed };

Kind<std::string> text(std::string expected, Refine refine = {}, Empty empty = Empty::refused) {
    return {expected, [=](Loader &l, const Item &it) -> std::optional<std::string> {
                if (!it.node.IsScalar() || (empty == Empty::refused && it.node.Scalar().empty())) {
                    expected_but_got(l, it, expected);
                    return std::nullopt;
                }
                if (!refine)
                    return it.node.Scalar();
                auto refined = refine(it.node.Scalar());
                if (!refined) {
                    l.error(it.line, it.path, refined.error().message);
                    return std::nullopt;
                }
                return std::move(refined).value();
            }};
}

template <class E> Kind<E> one_of(std::vector<std::pair<std::string, E>> choices) {
    std::vector<std::string> names;
    for (const auto &c : choices)
        names.push_back(c.first);
    std::string expected = "one of " + join(names);
    return {expected, [=](Loader &l, const Item &it) -> std::optional<E> {
                for (const auto &c : choices)
                    if (it.node.IsScalar() && it.node.Scalar() == c.first)
                        return c.second;
                expected_but_got(l, it, expected);
                return std::nullopt;
            }};
}

enum class Entries { any, at_least_one };

template <class T>
Kind<std::vector<T>> list_of(std::string what, Kind<T> entry, Entries entries = Entries::any) {
    std::string expected = (entries == Entries::any ? "a list of " : "a non-empty list of ") + what;
    return {expected, [=](Loader &l, const Item &it) -> std::optional<std::vector<T>> {
                if (!it.node.IsSequence() ||
                    (entries == Entries::at_least_one && it.node.size() == 0)) {
                    expected_but_got(l, it, expected);
                    return std::nullopt;
                }
                std::vector<T> out;
                for (size_t i = 0; i < it.node.size(); ++i) {
                    const YAML::Node node = it.node[i];
                    const int line = line_of(node) > 0 ? line_of(node) : it.line;
                    Item entry_item{node, it.path + "[" + std::to_string(i) + "]", line};
                    if (auto v = entry.parse(l, entry_item))
                        out.push_back(std::move(*v));
                }
                return out;
            }};
}

// ---------------------------------------------------------------------------------------------
// Sections: mappings read through a table of fields.

enum class Need { optional, required };

template <class S> struct Field {
    std::string key;
    Need need;
    std::string expected;
    std::function<void(Loader &, const Item &, S &)> read;
};

template <class S, class M, class T>
Field<S> field(std::string key, M S::*member, Kind<T> kind, Need need = Need::optional) {
    return {std::move(key), need, kind.expected,
            [member, parse = std::move(kind.parse)](Loader &l, const Item &it, S &out) {
                if (auto v = parse(l, it))
                    out.*member = std::move(*v);
            }};
}

using Present = std::map<std::string, int>; // keys given -> their line

// Cross-field checks and defaults that depend on other keys, run after the fields are read.
template <class S> using Check = std::function<void(Loader &, const Item &, const Present &, S &)>;

template <class S> struct SectionRules {
    Check<S> check;
    std::string unknown_key_message; // replaces the default "unknown key; expected one of ..."
};

template <class S> std::vector<std::string> keys_of(const std::vector<Field<S>> &fields) {
    std::vector<std::string> keys;
    for (const auto &f : fields)
        keys.push_back(f.key);
    return keys;
}

template <class S>
void report_unknown(Loader &l, int line, const std::string &path,
                    const std::vector<Field<S>> &fields, const SectionRules<S> &rules) {
    if (!rules.unknown_key_message.empty())
        l.error(line, path, rules.unknown_key_message);
    else if (auto now = renamed_to(path))
        l.error(line, path, "`" + path + "` was renamed: write `" + *now + "` instead");
    else if (auto instead = removed_advice(path))
        l.error(line, path, "`" + path + "` was removed: " + std::string(*instead));
    else
        l.error(line, path, "unknown key; expected one of " + join(keys_of(fields)));
}

template <class S>
Present read_fields(Loader &l, const Item &it, const std::vector<Field<S>> &fields,
                    const SectionRules<S> &rules, S &out) {
    Present present;
    for (const auto &kv : it.node) {
        const int line = line_of(kv.first);
        if (!kv.first.IsScalar()) {
            l.error(line, it.path, "expected a key name, got " + describe(kv.first));
            continue;
        }
        const std::string &key = kv.first.Scalar();
        const std::string path = join_path(it.path, key);
        if (auto seen = present.find(key); seen != present.end()) {
            l.error(line, path, "given twice (first at line " + std::to_string(seen->second) + ")");
            continue;
        }
        present.emplace(key, line);
        auto f = std::find_if(fields.begin(), fields.end(),
                              [&](const Field<S> &candidate) { return candidate.key == key; });
        if (f == fields.end())
            report_unknown(l, line, path, fields, rules);
        else
            f->read(l, Item{kv.second, path, line}, out);
    }
    for (const auto &f : fields)
        if (f.need == Need::required && present.count(f.key) == 0)
            l.error(it.line, join_path(it.path, f.key), "missing; expected " + f.expected);
    return present;
}

template <class S> Kind<S> section(std::vector<Field<S>> fields, SectionRules<S> rules = {}) {
    std::string expected = "a mapping with keys " + join(keys_of(fields));
    return {expected, [=](Loader &l, const Item &it) -> std::optional<S> {
                if (!it.node.IsMap()) {
                    expected_but_got(l, it, expected);
                    return std::nullopt;
                }
                S out{};
                Present present = read_fields(l, it, fields, rules, out);
                if (rules.check)
                    rules.check(l, it, present, out);
                return out;
            }};
}

int line_of_key(const Present &present, const std::string &key, int fallback) {
    auto it = present.find(key);
    return it == present.end() ? fallback : it->second;
}

// ---------------------------------------------------------------------------------------------
// Value checks.

Result<std::string> valid_hostname(std::string value) {
    const std::string name = lower(value);
    auto bad = [&] {
        return config_error("expected a domain name such as old.example, got " + quote(value));
    };
    if (name.empty() || name.size() > 253)
        return bad();
    size_t start = 0;
    while (start <= name.size()) {
        size_t end = name.find('.', start);
        if (end == std::string::npos)
            end = name.size();
        const std::string_view label(name.data() + start, end - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return bad();
        for (char c : label)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
                return bad();
        start = end + 1;
    }
    return name;
}

Result<std::string> valid_host(std::string value) {
    for (char c : value)
        if (std::isspace(static_cast<unsigned char>(c)) ||
            std::iscntrl(static_cast<unsigned char>(c)))
            return config_error("expected a host name or IP address, got " + quote(value));
    return value;
}

Result<std::string> valid_provider_name(std::string value) {
    for (char c : value)
        if (!(std::islower(static_cast<unsigned char>(c)) ||
              std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
            return config_error("expected a name made of a-z, 0-9, '.', '_' and '-', got " +
                                quote(value));
    return value;
}

Result<std::string> absolute_path(std::string value) {
    if (value.front() != '/')
        return config_error("expected an absolute path, got " + quote(value));
    return value;
}

Result<std::string> readable_file(std::string value) {
    auto path = absolute_path(std::move(value));
    if (!path)
        return path;
    if (auto usable = check_regular_file(path.value()); !usable)
        return config_error("expected a readable file; " + path.value() + ": " +
                            usable.error().message);
    return path;
}

Result<std::string> directory(std::string value) {
    auto path = absolute_path(std::move(value));
    if (!path)
        return path;
    if (auto usable = check_directory_or_missing(path.value()); !usable)
        return config_error("expected a directory; " + path.value() + ": " +
                            usable.error().message);
    return path;
}

// Run with execve (no PATH search), never through a shell: an absolute path of plain
// characters. Anything else (`$(id)`, spaces, quotes) is a mistake or an attack.
Result<std::string> program_path(std::string value) {
    for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (!(std::isalnum(u) || c == '.' || c == '_' || c == '-' || c == '+' || c == '/') ||
            value.front() != '/')
            return config_error("expected the absolute path of a program (letters, digits, "
                                "'/', '.', '_', '-', '+'), got " +
                                quote(value));
    }
    return value;
}

Result<std::string> dovecot_directory(std::string value) {
    auto path = absolute_path(std::move(value));
    if (!path)
        return path;
    const std::string &dir = path.value();
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        return config_error("expected the directory that holds doveadm; " + dir + ": " +
                            (ec ? ec.message() : "not a directory"));
    const std::string doveadm = dir + "/doveadm";
    if (::access(doveadm.c_str(), X_OK) != 0)
        return config_error("expected the directory that holds doveadm; " + doveadm + ": " +
                            std::strerror(errno));
    return path;
}

Result<std::string> usable_key_file(std::string value) {
    auto path = absolute_path(std::move(value));
    if (!path)
        return path;
    // load_key_file opens without O_NONBLOCK: a FIFO must not reach it (it would hang).
    if (struct stat st; ::stat(path.value().c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        if (auto usable = check_regular_file(path.value()); !usable)
            return config_error("key file " + path.value() + ": " + usable.error().message);
    if (auto key = load_key_file(path.value()); !key)
        return config_error(key.error().message);
    return path;
}

Result<std::string> known_password_scheme(std::string value) {
    if (!password_scheme_supported(value))
        return config_error("expected one of " + join(supported_password_schemes()) + ", got " +
                            quote(value));
    return upper(std::move(value));
}

// A backtracking regex engine can spend exponential time on one folder name (`(a*)*b`):
// folder_exclude is a pattern FolderPattern runs in linear time, a subset of ECMAScript.
Result<std::string> folder_pattern(std::string value) {
    if (auto compiled = FolderPattern::compile(value); !compiled)
        return config_error("expected a regular expression (ECMAScript syntax without "
                            "backreferences, lookaround or \\b); " +
                            quote(value) + " is refused: " + compiled.error().message);
    return value;
}

// The special uses (RFC 6154) a folder_exclude entry may name instead of a pattern. None of
// them is a pattern FolderPattern accepts (`\J` is no escape), so an entry means one or the other.
const std::vector<std::string> &excludable_special_uses() {
    static const std::vector<std::string> uses = {"\\All",  "\\Archive", "\\Drafts", "\\Flagged",
                                                  "\\Junk", "\\Sent",    "\\Trash"};
    return uses;
}

std::optional<std::string> special_use_name(const std::string &entry) {
    for (const auto &use : excludable_special_uses())
        if (lower(use) == lower(entry))
            return use;
    return std::nullopt;
}

Result<std::string> libpq_conninfo(std::string value) {
    char *raw_error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(value.c_str(), &raw_error), &PQconninfoFree);
    std::unique_ptr<char, decltype(&PQfreemem)> parse_error(raw_error, &PQfreemem);
    if (!options)
        // libpq's own message can quote part of the value, i.e. of a password: not shown.
        return config_error("expected a libpq connection string such as \"host=/run/postgresql "
                            "dbname=mail user=mailadmin\" or a postgresql:// URI; this one does "
                            "not parse");
    return value;
}

// ---------------------------------------------------------------------------------------------
// Cross-field checks.

void check_domain(Loader &l, const Item &it, const Present &present, DomainMapping &d) {
    if (present.count("local_domain") == 0)
        d.local_domain = d.name;
    if (d.name.empty())
        return;
    const int line = line_of_key(present, "name", it.line);
    const std::string key = join_path(it.path, "name");
    if (auto earlier = l.declare("domain", d.name, line, key))
        l.error(line, key,
                "domain `" + d.name + "` is already declared at " + *earlier +
                    "; an old domain belongs to one provider only");
}

void check_provider(Loader &l, const Item &it, const Present &present, ProviderConfig &p) {
    p.source_file = l.file();
    p.security_line = line_of_key(present, "security", it.line);
    p.host_line = line_of_key(present, "host", it.line);
    p.keep_pop3_uidls_line = line_of_key(present, "keep_pop3_uidls", it.line);
    if (present.count("port") == 0)
        p.port = p.security == TlsMode::tls ? 993 : 143;
    if (present.count("pop3_port") == 0)
        p.pop3_port = p.security == TlsMode::tls ? 995 : 110;
    if (p.security == TlsMode::none && !p.allow_plaintext)
        l.error(line_of_key(present, "security", it.line), join_path(it.path, "security"),
                "`none` would send users' passwords across the network in clear; use tls or "
                "starttls, or set allow_plaintext: true to accept that");
    if (p.name.empty())
        return;
    const int line = line_of_key(present, "name", it.line);
    const std::string key = join_path(it.path, "name");
    if (auto earlier = l.declare("provider", p.name, line, key))
        l.error(line, key, "provider name `" + p.name + "` is already used at " + *earlier);
}

// What the dsync engine cannot do: sync both ways (`doveadm sync -1` runs one way; two-way
// through imapc is not offered) or leave folders uncreated (it creates every folder it syncs).
void check_dsync_limits(Loader &l, const Item &it, const Present &present, const Config &c) {
    std::string where;
    if (c.sync.engine == SyncEngine::dsync)
        where = "sync.engine";
    for (const auto &p : c.providers)
        if (where.empty() && c.engine_for(p) == SyncEngine::dsync)
            where = "provider " + p.name;
    if (where.empty())
        return;
    const int line = line_of_key(present, "sync", it.line);
    if (c.sync.direction == SyncDirection::both)
        l.error(line, "sync.direction",
                "`both` is not supported by the dsync engine (" + where +
                    "): it syncs one way; use old-to-new, or sync.engine: offlineimap");
    if (!c.sync.create_folders)
        l.error(line, "sync.create_folders",
                "`false` is not supported by the dsync engine (" + where +
                    "): doveadm creates every folder it syncs; remove the setting, or use "
                    "sync.engine: offlineimap");
}

void check_main(Loader &l, const Item &it, const Present &present, Config &c) {
    check_dsync_limits(l, it, present, c);
    // The default key file must be usable too, not only one named explicitly.
    if (present.count("secret_key_file") == 0)
        if (auto key = usable_key_file(c.secret_key_file); !key)
            l.error(it.line, "secret_key_file",
                    key.error().message + " (secret_key_file is not set: the default is used)");
}

// ---------------------------------------------------------------------------------------------
// The tables. Defaults are the member initialisers in config.hpp.

Kind<std::string> readable_file_kind() {
    return text("an absolute path to a readable file", readable_file);
}

Kind<std::string> key_file_kind() {
    return text("an absolute path to a 32-byte key file", usable_key_file);
}

Kind<std::string> domain_kind() {
    return text("a domain name such as old.example", valid_hostname);
}

Kind<int> port_kind() {
    return integer<int>(1, 65535);
}

Kind<AccountsConfig> accounts_kind() {
    using A = AccountsConfig;
    return section<A>({
        field("password_scheme", &A::password_scheme,
              text("a password scheme such as SHA512-CRYPT", known_password_scheme)),
        field("auto_create_domains", &A::auto_create_domains, boolean()),
        field("default_mailbox_quota_mb", &A::default_mailbox_quota_mb,
              integer<int64_t>(0, 1'000'000'000)),
    });
}

Kind<LocalImapConfig> local_imap_kind() {
    using L = LocalImapConfig;
    return section<L>({
        field("host", &L::host, text("a host name or IP address", valid_host)),
        field("port", &L::port, port_kind()),
        field("master_user", &L::master_user, text("a Dovecot master user name"), Need::required),
        field("master_password_file", &L::master_password_file, readable_file_kind(),
              Need::required),
    });
}

Kind<SyncEngine> engine_kind() {
    return one_of<SyncEngine>(
        {{"offlineimap", SyncEngine::offlineimap}, {"dsync", SyncEngine::dsync}});
}

// folder_exclude: one pattern (as always), or a list of patterns and special uses; the
// patterns of a list are one pattern, any of them matching.
Field<SyncConfig> folder_exclude_field() {
    const std::string expected = "a regular expression, or a list of regular expressions and "
                                 "special uses (" +
                                 join(excludable_special_uses()) + ")";
    return {"folder_exclude", Need::optional, expected,
            [expected](Loader &l, const Item &it, SyncConfig &out) {
                if (it.node.IsScalar()) {
                    if (auto use = special_use_name(it.node.Scalar())) {
                        out.folder_exclude_special_use = {*use};
                        out.folder_exclude.clear();
                    } else if (auto p = folder_pattern(it.node.Scalar()); !p) {
                        l.error(it.line, it.path, p.error().message);
                    } else {
                        out.folder_exclude = p.value();
                    }
                    return;
                }
                if (!it.node.IsSequence()) {
                    expected_but_got(l, it, expected);
                    return;
                }
                std::string combined;
                std::vector<std::string> uses;
                bool ok = true;
                for (size_t i = 0; i < it.node.size(); ++i) {
                    const YAML::Node node = it.node[i];
                    const int line = line_of(node) > 0 ? line_of(node) : it.line;
                    const std::string path = it.path + "[" + std::to_string(i) + "]";
                    if (!node.IsScalar() || node.Scalar().empty()) {
                        l.error(line, path,
                                "expected a regular expression or a special use such as "
                                "\\Junk, got " +
                                    describe(node));
                        ok = false;
                        continue;
                    }
                    if (auto use = special_use_name(node.Scalar())) {
                        uses.push_back(*use);
                        continue;
                    }
                    auto p = folder_pattern(node.Scalar());
                    if (!p) {
                        l.error(line, path, p.error().message);
                        ok = false;
                        continue;
                    }
                    combined += (combined.empty() ? "(?:" : "|(?:") + p.value() + ")";
                }
                if (ok) {
                    out.folder_exclude = combined;
                    out.folder_exclude_special_use = std::move(uses);
                }
            }};
}

Kind<SyncConfig> sync_kind() {
    using S = SyncConfig;
    return section<S>({
        field("engine", &S::engine, engine_kind()),
        field("offlineimap", &S::offlineimap,
              text("the path of the offlineimap program", program_path)),
        field("dovecot_config", &S::dovecot_config,
              text("an absolute path to the new server's dovecot.conf", absolute_path)),
        field("max_parallel_accounts", &S::max_parallel_accounts, integer<int>(1, 1000)),
        field("interval_minutes", &S::interval_minutes, integer<int>(1, 10080)),
        field("direction", &S::direction,
              one_of<SyncDirection>(
                  {{"old-to-new", SyncDirection::old_to_new}, {"both", SyncDirection::both}})),
        field("create_folders", &S::create_folders, boolean()),
        folder_exclude_field(),
        field("folder_include", &S::folder_include, list_of("folder names", text("a folder name"))),
        field("state_dir", &S::state_dir, text("an absolute directory path", directory)),
        field("runtime_dir", &S::runtime_dir, text("an absolute directory path", directory)),
    });
}

Kind<LoginProtectionConfig> login_protection_kind() {
    using P = LoginProtectionConfig;
    return section<P>({
        field("max_failures_per_ip", &P::max_failures_per_ip, integer<int>(0, 1'000'000)),
        field("max_failures_per_user", &P::max_failures_per_user, integer<int>(0, 1'000'000)),
        field("failure_window_seconds", &P::failure_window_seconds, integer<int>(1, 604800)),
        field("slot_wait_seconds", &P::slot_wait_seconds, integer<int>(0, 60)),
        field("ipv6_prefix_length", &P::ipv6_prefix_length, integer<int>(1, 128)),
    });
}

Kind<DomainMapping> domain_mapping_kind() {
    using D = DomainMapping;
    return section<D>(
        {
            field("name", &D::name, domain_kind(), Need::required),
            field("local_domain", &D::local_domain, domain_kind()),
        },
        {check_domain, {}});
}

bool is_inbox_name(const std::string &name) {
    return lower(name) == "inbox";
}

void check_folder_map_entry(Loader &l, const Item &it, const Present &present, FolderMapEntry &e) {
    const bool by_name = present.count("old") > 0, by_pattern = present.count("pattern") > 0;
    if (by_name == by_pattern)
        l.error(it.line, it.path,
                by_name ? "give `old` or `pattern`, not both"
                        : "missing; expected `old` (a folder name) or `pattern` (a regular "
                          "expression over folder names)");
    if (by_name && is_inbox_name(e.old_name))
        l.error(line_of_key(present, "old", it.line), join_path(it.path, "old"),
                "INBOX always stays INBOX; map its subfolders by their own names");
    if (is_inbox_name(e.new_name))
        l.error(line_of_key(present, "new", it.line), join_path(it.path, "new"),
                "expected a folder other than INBOX (the engines keep INBOX for INBOX)");
}

bool utf8_valid(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        const int extra = b < 0x80             ? 0
                          : (b & 0xE0) == 0xC0 ? 1
                          : (b & 0xF0) == 0xE0 ? 2
                          : (b & 0xF8) == 0xF0 ? 3
                                               : -1;
        if (extra < 0 || i + static_cast<size_t>(extra) >= s.size() + (extra == 0))
            return false;
        for (int k = 1; k <= extra; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
                return false;
        i += static_cast<size_t>(extra) + 1;
    }
    return true;
}

// Folder names of folder_map: UTF-8 without control characters (they are written into the
// engines' configurations and IMAP commands).
Result<std::string> folder_name(std::string value) {
    for (unsigned char c : value)
        if (c < 0x20 || c == 0x7f)
            return config_error("expected a folder name, got one with a control character");
    if (!utf8_valid(value))
        return config_error("expected a folder name in UTF-8, got " + quote(value));
    return value;
}

Kind<FolderMapEntry> folder_map_entry_kind() {
    using E = FolderMapEntry;
    return section<E>(
        {
            field("old", &E::old_name, text("an old folder name", folder_name)),
            field("pattern", &E::pattern, text("a regular expression", folder_pattern)),
            field("new", &E::new_name, text("a folder name on the new server", folder_name),
                  Need::required),
        },
        {check_folder_map_entry, {}});
}

Kind<ProviderSyncConfig> provider_sync_kind() {
    using S = ProviderSyncConfig;
    return section<S>(
        {field("engine", &S::engine, engine_kind()),
         field("folder_map", &S::folder_map,
               list_of("folder mappings (old or pattern, and new)", folder_map_entry_kind()))});
}

Kind<ProviderConfig> provider_kind() {
    using P = ProviderConfig;
    return section<P>(
        {
            field("name", &P::name, text("a provider name such as oldmail", valid_provider_name),
                  Need::required),
            field("host", &P::host, text("a host name or IP address", valid_host), Need::required),
            field("port", &P::port, port_kind()),
            field("security", &P::security,
                  one_of<TlsMode>({{"tls", TlsMode::tls},
                                   {"starttls", TlsMode::starttls},
                                   {"none", TlsMode::none}})),
            field("allow_plaintext", &P::allow_plaintext, boolean()),
            field("verify_certificate", &P::verify_certificate, boolean()),
            field("ca_file", &P::ca_file, readable_file_kind()),
            field("timeout_seconds", &P::timeout_seconds, integer<int>(1, 300)),
            field("max_connections", &P::max_connections, integer<int>(1, 1000)),
            field("cutover", &P::cutover,
                  one_of<Cutover>({{"immediate", Cutover::immediate}, {"proxy", Cutover::proxy}})),
            field("pop3_port", &P::pop3_port, port_kind()),
            field("keep_pop3_uidls", &P::keep_pop3_uidls, boolean()),
            field("domains", &P::domains,
                  list_of("domains", domain_mapping_kind(), Entries::at_least_one), Need::required),
            field("sync", &P::sync, provider_sync_kind()),
        },
        {check_provider, {}});
}

Kind<std::vector<ProviderConfig>> providers_kind() {
    return list_of("providers", provider_kind());
}

Kind<Config> main_kind() {
    using C = Config;
    return section<C>(
        {
            field("database", &C::database, text("a libpq connection string", libpq_conninfo),
                  Need::required),
            field("secret_key_file", &C::secret_key_file, key_file_kind()),
            field("previous_secret_key_files", &C::previous_secret_key_files,
                  list_of("key files", key_file_kind())),
            field("dovecot_bin_dir", &C::dovecot_bin_dir,
                  text("an absolute path to the directory that holds doveadm", dovecot_directory)),
            field("accounts", &C::accounts, accounts_kind()),
            field("local_imap", &C::local_imap, local_imap_kind()),
            field("sync", &C::sync, sync_kind()),
            field("login_protection", &C::login_protection, login_protection_kind()),
            field("providers", &C::providers, providers_kind()),
        },
        {check_main, {}});
}

struct DropinFile {
    std::vector<ProviderConfig> providers;
};

Kind<DropinFile> dropin_kind() {
    return section<DropinFile>(
        {field("providers", &DropinFile::providers, providers_kind())},
        {{},
         "a file in imap-migration.d/ may only hold `providers`; other settings belong in the "
         "main file"});
}

bool is_ip_address(const std::string &host) {
    unsigned char buf[16];
    return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

} // namespace

// offlineimap (offlineimap3 8.0) goes on in clear when a server does not offer STARTTLS, does
// not verify the certificate it gets after STARTTLS, and its own host name check reads DNS
// names only (a certificate for an IP address never matches). Its copies would be less safe
// than the login check, or never work: refused here, with the way out.
void check_engine_tls(Loader &loader, const Config &config) {
    std::map<std::string, int> index_in_file;
    for (const auto &p : config.providers) {
        const int index = index_in_file[p.source_file]++;
        if (config.engine_for(p) != SyncEngine::offlineimap)
            continue;
        loader.begin_file(p.source_file);
        const std::string key = "providers[" + std::to_string(index) + "]";
        if (p.security == TlsMode::starttls)
            loader.error(p.security_line, key + ".security",
                         "`starttls` is not safe with the offlineimap engine: offlineimap carries "
                         "on in clear when the server does not offer STARTTLS and does not verify "
                         "the certificate; write `security: tls` (imaps, port 993), or sync this "
                         "provider with dsync (`sync: {engine: dsync}` in the provider or "
                         "`sync.engine: dsync`)");
        if (p.security != TlsMode::none && is_ip_address(p.host))
            loader.error(p.host_line, key + ".host",
                         "the offlineimap engine cannot verify a certificate for an IP address "
                         "(it matches DNS names only); write the host name the certificate is "
                         "issued to, or sync this provider with dsync (`sync: {engine: dsync}` "
                         "in the provider or `sync.engine: dsync`)");
        if (p.keep_pop3_uidls)
            loader.error(p.keep_pop3_uidls_line, key + ".keep_pop3_uidls",
                         "POP3 UIDLs are kept by the dsync engine only (offlineimap copies over "
                         "IMAP, which knows no UIDLs); sync this provider with dsync (`sync: "
                         "{engine: dsync}` in the provider or `sync.engine: dsync`), or remove "
                         "the setting");
    }
}

void read_main_document(Loader &loader, const YAML::Node &root, Config &out) {
    const YAML::Node map = root.IsNull() ? YAML::Node(YAML::NodeType::Map) : root;
    if (auto parsed = main_kind().parse(loader, Item{map, "", line_of(root)})) {
        parsed->path = out.path;
        out = std::move(*parsed);
    }
}

void read_dropin_document(Loader &loader, const YAML::Node &root,
                          std::vector<ProviderConfig> &out) {
    if (root.IsNull())
        return;
    if (auto parsed = dropin_kind().parse(loader, Item{root, "", line_of(root)}))
        for (auto &p : parsed->providers)
            out.push_back(std::move(p));
}

} // namespace imapmig::config_schema
