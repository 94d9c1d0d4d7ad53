#include "sync/doveconf_namespaces.hpp"

#include <sstream>

namespace imapmig {

namespace {

// `  NAME {` at the given indent: NAME, unquoted; empty when the line is no such section.
std::string section_name(const std::string &line, std::string_view keyword, size_t indent) {
    const std::string head = std::string(indent, ' ') + std::string(keyword) + " ";
    if (line.size() <= head.size() + 2 || line.compare(0, head.size(), head) != 0 ||
        line.compare(line.size() - 2, 2, " {") != 0)
        return "";
    std::string name = line.substr(head.size(), line.size() - head.size() - 2);
    if (name.front() == '"') {
        auto words = doveconf_list_words(name);
        return words.size() == 1 ? words.front() : "";
    }
    return name;
}

// `KEY = VALUE` at exactly the given indent; false when the line is not that key.
bool setting(const std::string &line, size_t indent, std::string_view key, std::string &value) {
    const std::string head = std::string(indent, ' ') + std::string(key) + " =";
    if (line.compare(0, head.size(), head) != 0)
        return false;
    value = line.size() > head.size() + 1 ? line.substr(head.size() + 1) : "";
    return true;
}

} // namespace

std::vector<std::string> doveconf_list_words(std::string_view value) {
    std::vector<std::string> words;
    size_t pos = 0;
    while (pos < value.size()) {
        if (value[pos] == ' ' || value[pos] == '\t') {
            ++pos;
            continue;
        }
        std::string word;
        if (value[pos] == '"') {
            for (++pos; pos < value.size() && value[pos] != '"'; ++pos) {
                if (value[pos] == '\\' && pos + 1 < value.size())
                    ++pos;
                word += value[pos];
            }
            ++pos; // the closing quote
        } else {
            while (pos < value.size() && value[pos] != ' ' && value[pos] != '\t')
                word += value[pos++];
        }
        words.push_back(std::move(word));
    }
    return words;
}

std::vector<DoveconfNamespace> parse_doveconf_namespaces(std::string_view output) {
    std::vector<DoveconfNamespace> out;
    bool in_namespace = false, in_mailbox = false;
    std::istringstream lines{std::string(output)};
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (std::string name = section_name(line, "namespace", 0); !name.empty()) {
            out.push_back({name, "", "", false, {}});
            in_namespace = true;
            in_mailbox = false;
            continue;
        }
        if (line == "}") {
            in_namespace = in_mailbox = false;
            continue;
        }
        if (!in_namespace)
            continue;
        DoveconfNamespace &ns = out.back();
        if (std::string name = section_name(line, "mailbox", 2); !name.empty()) {
            ns.mailboxes.push_back({name, {}});
            in_mailbox = true;
            continue;
        }
        if (line == "  }") {
            in_mailbox = false;
            continue;
        }
        std::string value;
        if (in_mailbox) {
            if (setting(line, 4, "special_use", value))
                ns.mailboxes.back().special_use = doveconf_list_words(value);
        } else if (setting(line, 2, "inbox", value)) {
            ns.inbox = value == "yes";
        } else if (setting(line, 2, "prefix", value)) {
            ns.prefix = value;
        } else if (setting(line, 2, "separator", value)) {
            ns.separator = value;
        }
    }
    return out;
}

} // namespace imapmig
