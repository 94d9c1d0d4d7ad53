#include "imap_response.hpp"

#include <cctype>
#include <stdexcept>

namespace testsupport {

namespace {

class Parser {
public:
    explicit Parser(std::string_view s) : s_(s) {}

    std::vector<ImapValue> values(bool in_list) {
        std::vector<ImapValue> out;
        for (;;) {
            while (pos_ < s_.size() && s_[pos_] == ' ')
                ++pos_;
            if (pos_ >= s_.size()) {
                if (in_list)
                    throw std::runtime_error("IMAP: unclosed list");
                return out;
            }
            if (s_[pos_] == ')') {
                if (!in_list)
                    throw std::runtime_error("IMAP: unexpected ')'");
                ++pos_;
                return out;
            }
            out.push_back(value());
        }
    }

private:
    ImapValue value() {
        ImapValue v;
        const char c = s_[pos_];
        if (c == '(') {
            ++pos_;
            v.kind = ImapValue::Kind::list;
            v.items = values(true);
        } else if (c == '"') {
            v.kind = ImapValue::Kind::string;
            for (++pos_; pos_ < s_.size() && s_[pos_] != '"'; ++pos_) {
                if (s_[pos_] == '\\' && pos_ + 1 < s_.size())
                    ++pos_;
                v.text += s_[pos_];
            }
            if (pos_ >= s_.size())
                throw std::runtime_error("IMAP: unclosed quoted string");
            ++pos_;
        } else if (c == '{') {
            const auto close = s_.find("}\r\n", pos_);
            if (close == std::string_view::npos)
                throw std::runtime_error("IMAP: bad literal");
            const auto n = std::stoul(std::string(s_.substr(pos_ + 1, close - pos_ - 1)));
            pos_ = close + 3;
            if (pos_ + n > s_.size())
                throw std::runtime_error("IMAP: short literal");
            v.kind = ImapValue::Kind::string;
            v.text = std::string(s_.substr(pos_, n));
            pos_ += n;
        } else {
            int depth = 0;
            while (pos_ < s_.size()) {
                const char d = s_[pos_];
                if (d == '[')
                    ++depth;
                else if (d == ']')
                    --depth;
                else if (depth == 0 && (d == ' ' || d == '(' || d == ')'))
                    break;
                v.text += d;
                ++pos_;
            }
            if (v.text.size() == 3 && std::toupper(static_cast<unsigned char>(v.text[0])) == 'N' &&
                std::toupper(static_cast<unsigned char>(v.text[1])) == 'I' &&
                std::toupper(static_cast<unsigned char>(v.text[2])) == 'L') {
                v.kind = ImapValue::Kind::nil;
                v.text.clear();
            }
        }
        return v;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) !=
            std::toupper(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

} // namespace

std::vector<ImapValue> parse_imap_line(std::string_view line) {
    return Parser(line).values(false);
}

const ImapValue *fetch_item(const std::vector<ImapValue> &items, std::string_view name) {
    for (std::size_t i = 0; i + 1 < items.size(); i += 2)
        if (items[i].kind == ImapValue::Kind::atom && iequals(items[i].text, name))
            return &items[i + 1];
    return nullptr;
}

} // namespace testsupport
