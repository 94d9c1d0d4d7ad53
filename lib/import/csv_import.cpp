#include "import/csv_import.hpp"

#include "base/address.hpp"
#include "crypto/passwords.hpp"
#include "import/csv_parser.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

namespace imapmig {

namespace {

struct LineType {
    std::string_view name;
    std::vector<std::string_view> fields; // names of the fixed fields, "type" first
    size_t min_fields;
    std::string_view repeated; // name of trailing repeated fields; "" = fixed count
};

const std::vector<LineType> &line_types() {
    static const std::vector<LineType> types = {
        {"domain", {"type", "name", "quota", "default mailbox quota", "enabled"}, 5, ""},
        {"domainalias", {"type", "name", "targeted domain", "enabled"}, 4, ""},
        {"relaydomain",
         {"type", "name", "target host", "target port", "service", "enabled", "verify recipients"},
         7,
         ""},
        {"account",
         {"type", "loginname", "password", "first name", "last name", "enabled", "group", "address",
          "quota"},
         7,
         "domain"},
        {"alias", {"type", "address", "enabled"}, 4, "recipient"},
    };
    return types;
}

const LineType *find_line_type(std::string_view name) {
    const std::string lower = to_lower_ascii(name);
    for (const auto &t : line_types())
        if (t.name == lower)
            return &t;
    return nullptr;
}

std::string field_name(const LineType *type, size_t index) {
    if (index == 0)
        return "type";
    if (type != nullptr && index < type->fields.size())
        return std::string(type->fields[index]);
    if (type != nullptr && !type->repeated.empty())
        return std::string(type->repeated);
    return std::to_string(index + 1);
}

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7f;
    });
}

// Field access for one line; the first failure is kept and every later access fails.
class LineReader {
public:
    LineReader(int line, const LineType &type, std::vector<std::string> fields)
        : line_(line), type_(type), fields_(std::move(fields)) {}

    const std::optional<ImportError> &error() const { return error_; }
    size_t size() const { return fields_.size(); }
    bool failed() const { return error_.has_value(); }
    const std::string &raw(size_t i) const { return fields_[i]; }
    std::string_view type_name() const { return type_.name; }

    bool fail(size_t i, std::string message) {
        if (!error_)
            error_ = ImportError{line_, field_name(&type_, i), std::move(message)};
        return false;
    }

    std::optional<std::string> hostname(size_t i) {
        if (failed())
            return std::nullopt;
        if (!valid_hostname(raw(i))) {
            fail(i, "expected a domain name (letters, digits, hyphens, at least one dot; "
                    "IDNs in xn-- form)");
            return std::nullopt;
        }
        return to_lower_ascii(raw(i));
    }

    std::optional<int64_t> integer(size_t i, int64_t max, const char *expected) {
        if (failed())
            return std::nullopt;
        const std::string &s = raw(i);
        int64_t v = -1;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0 || v > max) {
            fail(i, expected);
            return std::nullopt;
        }
        return v;
    }

    std::optional<int64_t> quota(size_t i) {
        return integer(i, int64_t{1} << 40, "expected a non-negative integer (MB; 0 = no limit)");
    }

    std::optional<MailAddress> address(size_t i, const char *expected) {
        if (failed())
            return std::nullopt;
        auto a = parse_mail_address(raw(i));
        if (!a) {
            fail(i, std::string(expected) + " (" + a.error().message + ")");
            return std::nullopt;
        }
        return a.value();
    }

    bool boolean(size_t i) const { return parse_import_bool(raw(i)); }

private:
    int line_;
    const LineType &type_;
    std::vector<std::string> fields_;
    std::optional<ImportError> error_;
};

using ParsedRecord = std::optional<ImportRecord>;

ParsedRecord reject(LineReader &r, size_t field, std::string message) {
    r.fail(field, std::move(message));
    return std::nullopt;
}

ParsedRecord parse_domain(LineReader &r) {
    auto name = r.hostname(1);
    auto quota = r.quota(2);
    auto def = r.quota(3);
    if (!name || !quota || !def)
        return std::nullopt;
    if (*quota != 0 && *def > *quota) {
        r.fail(3, "may not exceed the domain quota (" + std::to_string(*quota) + " MB)");
        return std::nullopt;
    }
    return DomainRecord{*name, *quota, *def, r.boolean(4)};
}

ParsedRecord parse_domain_alias(LineReader &r) {
    auto name = r.hostname(1);
    auto target = r.hostname(2);
    if (!name || !target)
        return std::nullopt;
    if (*name == *target) {
        r.fail(2, "a domain alias cannot target itself");
        return std::nullopt;
    }
    return DomainAliasRecord{*name, *target, r.boolean(3)};
}

bool valid_ip(const std::string &s) {
    std::array<unsigned char, 16> buf{};
    std::string bare =
        s.size() > 2 && s.front() == '[' && s.back() == ']' ? s.substr(1, s.size() - 2) : s;
    return inet_pton(AF_INET, bare.c_str(), buf.data()) == 1 ||
           inet_pton(AF_INET6, bare.c_str(), buf.data()) == 1;
}

bool valid_service(std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.';
    });
}

ParsedRecord parse_relay_domain(LineReader &r) {
    auto name = r.hostname(1);
    if (!name)
        return std::nullopt;
    const std::string &host = r.raw(2);
    // A single-label host ("mailhub") is fine for a relay target.
    if (!valid_ip(host) && !valid_hostname(host) && !valid_hostname(host + ".invalid"))
        return reject(r, 2, "expected a host name or an IP address");
    auto port = r.integer(3, 65535, "expected a port number from 1 to 65535");
    if (!port)
        return std::nullopt;
    if (*port == 0)
        return reject(r, 3, "expected a port number from 1 to 65535");
    if (!valid_service(r.raw(4)))
        return reject(r, 4, "expected a Postfix service name (letters, digits, - _ .), e.g. relay");
    return RelayDomainRecord{*name,    to_lower_ascii(host), static_cast<int>(*port),
                             r.raw(4), r.boolean(5),         r.boolean(6)};
}

} // namespace

std::string_view to_string(AccountRole role) {
    switch (role) {
    case AccountRole::super_admin:
        return "SuperAdmins";
    case AccountRole::domain_admin:
        return "DomainAdmins";
    case AccountRole::reseller:
        return "Resellers";
    case AccountRole::simple_user:
        break;
    }
    return "SimpleUsers";
}

namespace {

std::optional<AccountRole> parse_role(std::string_view s) {
    const std::string lower = to_lower_ascii(s);
    for (auto role : {AccountRole::super_admin, AccountRole::domain_admin, AccountRole::reseller,
                      AccountRole::simple_user})
        if (to_lower_ascii(to_string(role)) == lower)
            return role;
    return std::nullopt;
}

std::optional<std::string> parse_login(LineReader &r) {
    const std::string &s = r.raw(1);
    bool ok = s.find('@') != std::string::npos ? parse_mail_address(s).ok()
                                               : parse_mail_address(s + "@login.invalid").ok();
    if (!ok) {
        r.fail(1, "expected a login name: an address local@domain, or a name of letters, "
                  "digits and . _ -");
        return std::nullopt;
    }
    return to_lower_ascii(s);
}

bool check_password_field(LineReader &r, const ImportOptions &options) {
    const std::string &pw = r.raw(2);
    if (options.crypt_passwords) {
        if (auto ok = check_password_input(pw); !ok)
            return r.fail(2, "expected a clear-text password of 1 to " +
                                 std::to_string(max_password_length) +
                                 " bytes without control characters (--crypt-passwords)");
        return true;
    }
    if (!check_password_hash(pw))
        return r.fail(2, pw.starts_with("{")
                             ? "expected {SCHEME}hash with a scheme `doveadm pw -l` lists and a "
                               "non-empty hash without control characters"
                             : "expected {SCHEME}hash (for clear-text passwords use "
                               "--crypt-passwords)");
    return true;
}

// Address, quota and administered domains: fields 7 and later.
bool parse_account_tail(LineReader &r, AccountRecord &a) {
    if (r.size() > 7 && !r.raw(7).empty()) {
        auto address = r.address(7, "expected an address local@domain, or nothing for an "
                                    "account without a mailbox");
        if (!address)
            return false;
        a.address = address->str();
    }
    if (a.role == AccountRole::simple_user && a.address != a.username)
        return r.fail(7, "a SimpleUsers account needs an address equal to its login name");
    if (r.size() > 8 && !r.raw(8).empty()) {
        if (a.address.empty())
            return r.fail(8, "an account without an address has no mailbox and takes no quota");
        auto quota = r.quota(8);
        if (!quota)
            return false;
        a.quota_mb = *quota;
    }
    const bool administers = a.role == AccountRole::domain_admin || a.role == AccountRole::reseller;
    for (size_t i = 9; i < r.size(); ++i) {
        if (!administers)
            return r.fail(i, "only DomainAdmins and Resellers accounts administer domains");
        auto name = r.hostname(i);
        if (!name)
            return false;
        if (std::find(a.domains.begin(), a.domains.end(), *name) == a.domains.end())
            a.domains.push_back(*name);
    }
    return true;
}

ParsedRecord parse_account(LineReader &r, const ImportOptions &options) {
    AccountRecord a;
    auto login = parse_login(r);
    if (!login || !check_password_field(r, options))
        return std::nullopt;
    a.username = *login;
    a.password = SecretString(r.raw(2));
    a.first_name = r.raw(3);
    a.last_name = r.raw(4);
    a.enabled = r.boolean(5);
    auto role = parse_role(r.raw(6));
    if (!role)
        return reject(r, 6, "expected SuperAdmins, DomainAdmins, Resellers or SimpleUsers");
    a.role = *role;
    if (!parse_account_tail(r, a))
        return std::nullopt;
    return ParsedRecord(std::move(a));
}

ParsedRecord parse_alias(LineReader &r) {
    AliasRecord a;
    const std::string &addr = r.raw(1);
    if (addr.starts_with("@")) {
        if (!valid_hostname(std::string_view(addr).substr(1)))
            return reject(r, 1, "expected an address local@domain, or @domain for a catch-all");
        a.address = to_lower_ascii(addr);
    } else {
        auto parsed = r.address(1, "expected an address local@domain, or @domain for a catch-all");
        if (!parsed)
            return std::nullopt;
        a.address = parsed->str();
    }
    a.enabled = r.boolean(2);
    for (size_t i = 3; i < r.size(); ++i) {
        auto rcpt = r.address(i, "expected a recipient address local@domain");
        if (!rcpt)
            return std::nullopt;
        if (rcpt->str() == a.address)
            return reject(r, i, "an alias cannot forward to itself");
        if (std::find(a.recipients.begin(), a.recipients.end(), rcpt->str()) == a.recipients.end())
            a.recipients.push_back(rcpt->str());
    }
    return ParsedRecord(std::move(a));
}

ParsedRecord parse_typed(LineReader &r, const ImportOptions &options) {
    const std::string_view t = r.type_name();
    if (t == "domain")
        return parse_domain(r);
    if (t == "domainalias")
        return parse_domain_alias(r);
    if (t == "relaydomain")
        return parse_relay_domain(r);
    if (t == "account")
        return parse_account(r, options);
    return parse_alias(r);
}

// Encoding and field count; then the type's own rules.
std::optional<ImportRecord> parse_fields(LineReader &r, const LineType &type,
                                         const ImportOptions &options) {
    for (size_t i = 0; i < r.size(); ++i) {
        if (!valid_utf8(r.raw(i)))
            return reject(r, i, "not valid UTF-8 (the file must be UTF-8 encoded)");
        if (has_control(r.raw(i)))
            return reject(r, i, "contains control characters");
    }
    const std::string shape = "a " + std::string(type.name) + " line has " +
                              std::to_string(type.min_fields) +
                              (type.repeated.empty() ? "" : " or more") + " fields";
    if (r.size() < type.min_fields)
        return reject(r, r.size(), "missing (" + shape + ")");
    if (type.repeated.empty() && r.size() > type.fields.size())
        return reject(r, type.fields.size(),
                      "unexpected extra field (" + shape + "; quote a field that contains '" +
                          options.sepchar + "')");
    return parse_typed(r, options);
}

std::variant<ImportLine, ImportError> parse_line(const SourceLine &line,
                                                 const ImportOptions &options) {
    CsvSplit split = split_csv_line(line.text, options.sepchar);
    const LineType *type = split.fields.empty() ? nullptr : find_line_type(split.fields[0]);
    if (!split.ok)
        return ImportError{line.number, field_name(type, split.bad_field), split.error};
    if (type == nullptr)
        return ImportError{line.number, "type",
                           valid_utf8(split.fields[0])
                               ? "expected domain, domainalias, relaydomain, account or alias"
                               : "not valid UTF-8 (the file must be UTF-8 encoded)"};
    LineReader reader(line.number, *type, std::move(split.fields));
    auto record = parse_fields(reader, *type, options);
    if (!record)
        return *reader.error();
    return ImportLine{line.number, std::move(*record)};
}

} // namespace

std::string_view record_type_name(const ImportRecord &record) {
    return line_types()[record.index()].name;
}

std::string ImportError::to_string(std::string_view file) const {
    return std::string(file) + ":" + std::to_string(line) + ": field " + field + ": " + message;
}

bool parse_import_bool(std::string_view text) {
    const std::string v = to_lower_ascii(text);
    return v == "true" || v == "1" || v == "yes" || v == "y";
}

ParsedImport parse_import(std::string_view file_text, const ImportOptions &options) {
    ParsedImport out;
    for (const SourceLine &line : record_lines(file_text)) {
        auto parsed = parse_line(line, options);
        if (auto *err = std::get_if<ImportError>(&parsed))
            out.errors.push_back(std::move(*err));
        else
            out.lines.push_back(std::move(std::get<ImportLine>(parsed)));
    }
    return out;
}

} // namespace imapmig
