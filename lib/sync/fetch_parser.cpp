#include "sync/fetch_parser.hpp"

#include <cctype>
#include <cstdlib>
#include <optional>

namespace imapmig {

namespace {

class Cursor {
public:
    explicit Cursor(std::string_view text, size_t pos) : t_(text), p_(pos) {}
    size_t pos() const { return p_; }
    bool done() const { return p_ >= t_.size(); }
    char peek() const { return done() ? '\0' : t_[p_]; }
    void skip_spaces() {
        while (!done() && t_[p_] == ' ')
            ++p_;
    }
    bool eat(char c) {
        if (peek() != c)
            return false;
        ++p_;
        return true;
    }
    // An atom; a `[...]` section (which may hold spaces and parentheses) belongs to it.
    std::string atom() {
        std::string out;
        int depth = 0;
        while (!done()) {
            const char c = t_[p_];
            if (depth == 0 && (c == ' ' || c == '(' || c == ')' || c == '\r' || c == '\n'))
                break;
            depth += c == '[' ? 1 : c == ']' ? -1 : 0;
            out += c;
            ++p_;
        }
        return out;
    }
    // A quoted string, a literal or NIL; nullopt when something else is there.
    std::optional<std::string> string() {
        if (eat('"')) {
            std::string out;
            while (!done() && t_[p_] != '"') {
                if (t_[p_] == '\\' && p_ + 1 < t_.size())
                    ++p_;
                out += t_[p_++];
            }
            eat('"');
            return out;
        }
        if (peek() == '{') {
            const size_t close = t_.find('}', p_);
            if (close == std::string_view::npos)
                return std::nullopt;
            const long long n =
                std::strtoll(std::string(t_.substr(p_ + 1, close - p_ - 1)).c_str(), nullptr, 10);
            p_ = close + 1;
            if (t_.substr(p_, 2) == "\r\n")
                p_ += 2;
            if (n < 0 || p_ + static_cast<size_t>(n) > t_.size())
                return std::nullopt;
            std::string out(t_.substr(p_, static_cast<size_t>(n)));
            p_ += static_cast<size_t>(n);
            return out;
        }
        const std::string word = atom();
        if (word == "NIL")
            return std::string();
        return std::nullopt;
    }
    // A parenthesized list of atoms (FLAGS); nested lists are skipped.
    std::vector<std::string> atom_list() {
        std::vector<std::string> out;
        if (!eat('('))
            return out;
        for (int depth = 1; !done() && depth > 0;) {
            skip_spaces();
            if (eat('('))
                ++depth;
            else if (eat(')'))
                --depth;
            else if (depth == 1)
                out.push_back(atom());
            else
                atom();
            if (!done() && (peek() == '\r' || peek() == '\n'))
                break;
        }
        return out;
    }
    // Skips one value of an unknown item.
    void skip_value() {
        if (peek() == '(') {
            atom_list();
            return;
        }
        if (peek() == '"' || peek() == '{') {
            string();
            return;
        }
        atom();
    }

private:
    std::string_view t_;
    size_t p_;
};

std::string upper(std::string s) {
    for (char &c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// The Message-ID header's value in a header block (folded lines joined), trimmed.
std::string message_id_of(std::string_view header) {
    std::string unfolded;
    for (size_t i = 0; i < header.size(); ++i) {
        if (header[i] == '\r' && i + 2 < header.size() && header[i + 1] == '\n' &&
            (header[i + 2] == ' ' || header[i + 2] == '\t')) {
            i += 1;
            continue;
        }
        unfolded += header[i];
    }
    const std::string key = "MESSAGE-ID:";
    const std::string up = upper(unfolded);
    size_t at = up.rfind(key, 0) == 0 ? 0 : up.find("\n" + key);
    if (at == std::string::npos)
        return {};
    at = at == 0 ? key.size() : at + 1 + key.size();
    size_t end = unfolded.find_first_of("\r\n", at);
    std::string value =
        unfolded.substr(at, end == std::string::npos ? std::string::npos : end - at);
    const size_t first = value.find_first_not_of(" \t");
    const size_t last = value.find_last_not_of(" \t");
    return first == std::string::npos ? std::string() : value.substr(first, last - first + 1);
}

} // namespace

std::vector<FetchedMessage> parse_fetch_responses(std::string_view text) {
    std::vector<FetchedMessage> out;
    size_t pos = 0;
    while (pos < text.size()) {
        // A response starts a line: `* <n> FETCH (`.
        if (text.compare(pos, 2, "* ") == 0) {
            Cursor c(text, pos + 2);
            const std::string number = c.atom();
            c.skip_spaces();
            const bool numbered =
                !number.empty() && number.find_first_not_of("0123456789") == std::string::npos;
            if (numbered && upper(c.atom()) == "FETCH") {
                c.skip_spaces();
                if (c.eat('(')) {
                    FetchedMessage m;
                    long long size = -1;
                    while (!c.done() && !c.eat(')')) {
                        c.skip_spaces();
                        const std::string item = upper(c.atom());
                        c.skip_spaces();
                        if (item.empty())
                            break;
                        if (item == "UID")
                            m.uid = std::strtoll(c.atom().c_str(), nullptr, 10);
                        else if (item == "RFC822.SIZE")
                            size = std::strtoll(c.atom().c_str(), nullptr, 10);
                        else if (item == "FLAGS") {
                            for (auto &flag : c.atom_list()) {
                                if (flag.empty() || upper(flag) == "\\RECENT")
                                    continue;
                                (flag[0] == '\\' ? m.system_flags : m.keywords)
                                    .push_back(std::move(flag));
                            }
                        } else if (item == "INTERNALDATE") {
                            if (auto date = c.string())
                                m.internal_date = *date;
                        } else if (item == "BODY[]") {
                            m.body = c.string();
                        } else if (item.rfind("BODY[HEADER.FIELDS", 0) == 0) {
                            if (auto header = c.string())
                                m.message_id = message_id_of(*header);
                        } else
                            c.skip_value();
                        c.skip_spaces();
                    }
                    if (size >= 0) {
                        m.size = size;
                        out.push_back(std::move(m));
                    }
                }
                pos = c.pos();
            }
        }
        const size_t next = text.find("\r\n", pos);
        if (next == std::string_view::npos)
            break;
        pos = next + 2;
    }
    return out;
}

} // namespace imapmig
