#include "import/csv_parser.hpp"

namespace imapmig {

namespace {

bool is_blank(char c, char sep) {
    return (c == ' ' || c == '\t') && c != sep;
}

class LineSplitter {
public:
    LineSplitter(std::string_view line, char sep) : line_(line), sep_(sep) {}

    CsvSplit run() {
        CsvSplit out;
        std::vector<bool> quoted;
        while (true) {
            skip_blanks();
            bool was_quoted = pos_ < line_.size() && line_[pos_] == '"';
            std::string field;
            std::string error = was_quoted ? quoted_field(field) : unquoted_field(field);
            if (!error.empty()) {
                out.ok = false;
                out.bad_field = out.fields.size();
                out.error = std::move(error);
                return out;
            }
            out.fields.push_back(std::move(field));
            quoted.push_back(was_quoted);
            if (pos_ >= line_.size())
                break;
            ++pos_; // the separator
        }
        while (!out.fields.empty() && out.fields.back().empty() && !quoted.back()) {
            out.fields.pop_back();
            quoted.pop_back();
        }
        return out;
    }

private:
    void skip_blanks() {
        while (pos_ < line_.size() && is_blank(line_[pos_], sep_))
            ++pos_;
    }

    std::string unquoted_field(std::string &field) {
        size_t start = pos_;
        while (pos_ < line_.size() && line_[pos_] != sep_)
            ++pos_;
        size_t end = pos_;
        while (end > start && is_blank(line_[end - 1], sep_))
            --end;
        field.assign(line_.substr(start, end - start));
        return {};
    }

    std::string quoted_field(std::string &field) {
        ++pos_; // opening quote
        while (true) {
            if (pos_ >= line_.size())
                return "quoted field has no closing double quote";
            char c = line_[pos_++];
            if (c != '"') {
                field += c;
            } else if (pos_ < line_.size() && line_[pos_] == '"') {
                field += '"';
                ++pos_;
            } else {
                break;
            }
        }
        skip_blanks();
        if (pos_ < line_.size() && line_[pos_] != sep_)
            return "text after the closing double quote (write \"\" for a quote inside quotes)";
        return {};
    }

    std::string_view line_;
    char sep_;
    size_t pos_ = 0;
};

bool only_blanks(std::string_view s) {
    return s.find_first_not_of(" \t") == std::string_view::npos;
}

} // namespace

std::vector<SourceLine> record_lines(std::string_view text) {
    if (text.starts_with("\xEF\xBB\xBF"))
        text.remove_prefix(3);
    std::vector<SourceLine> out;
    int number = 0;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++number;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        size_t first = line.find_first_not_of(" \t");
        if (only_blanks(line) || line[first] == '#')
            continue;
        out.push_back({number, line});
    }
    return out;
}

CsvSplit split_csv_line(std::string_view line, char sep) {
    return LineSplitter(line, sep).run();
}

bool valid_utf8(std::string_view text) {
    const auto *s = reinterpret_cast<const unsigned char *>(text.data());
    size_t i = 0, n = text.size();
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
        if (len == 0 || c >= 0xF5 || c == 0xC0 || c == 0xC1 || i + len > n)
            return false;
        for (size_t k = 1; k < len; ++k)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0) ||
            (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] >= 0x90))
            return false; // overlong, surrogate, above U+10FFFF
        i += len;
    }
    return true;
}

} // namespace imapmig
