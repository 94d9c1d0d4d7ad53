#include "sync/old_namespace.hpp"

#include "sync/imap_query.hpp"

namespace imapmig {

namespace {

// An IMAP quoted string at text[pos] ('"' included); advances pos past it.
std::optional<std::string> quoted(std::string_view text, size_t &pos) {
    if (pos >= text.size() || text[pos] != '"')
        return std::nullopt;
    std::string out;
    for (++pos; pos < text.size(); ++pos) {
        char c = text[pos];
        if (c == '\\' && pos + 1 < text.size()) {
            out += text[++pos];
            continue;
        }
        if (c == '"') {
            ++pos;
            return out;
        }
        out += c;
    }
    return std::nullopt;
}

} // namespace

std::string OldNamespace::list_prefix() const {
    if (separator != 0 && !prefix.empty() && prefix.back() == separator)
        return prefix.substr(0, prefix.size() - 1);
    return prefix;
}

std::optional<OldNamespace> parse_namespace_reply(std::string_view text) {
    const size_t at = text.find("* NAMESPACE ");
    if (at == std::string_view::npos)
        return std::nullopt;
    size_t pos = at + 12;
    // ((prefix sep [extensions]) ...): the first of the personal namespaces.
    if (text.compare(pos, 2, "((") != 0)
        return std::nullopt;
    pos += 2;
    auto prefix = quoted(text, pos);
    if (!prefix || pos >= text.size() || text[pos] != ' ')
        return std::nullopt;
    ++pos;
    OldNamespace ns{*prefix, 0};
    if (auto sep = quoted(text, pos); sep && sep->size() == 1)
        ns.separator = (*sep)[0];
    else if (text.compare(pos, 3, "NIL") != 0)
        return std::nullopt;
    return ns;
}

Result<OldNamespace> discover_old_namespace(const ProviderConfig &p, std::string_view login,
                                            const SecretString &password) {
    auto replies = imap_query(p, login, password, {"NAMESPACE"});
    if (!replies)
        return replies.error();
    // A server without NAMESPACE (RFC 3501 only) rejects it: no prefix to strip.
    const auto &reply = replies.value().front();
    if (!reply)
        return OldNamespace{};
    if (auto ns = parse_namespace_reply(*reply))
        return *ns;
    return OldNamespace{};
}

} // namespace imapmig
