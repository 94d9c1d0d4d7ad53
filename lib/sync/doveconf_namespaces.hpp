// The new server's namespaces as `doveconf -c CONFIG namespace` prints them, on both Dovecot
// lines. 2.3 prints every setting, an unset one empty (`separator = `); 2.4 prints only what
// differs from the default (no separator line at all when none is set) and list values as
// quoted strings (`special_use = "\\Sent" "\\Archive"` where 2.3 prints `\Sent \Archive`).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

struct DoveconfMailbox {
    std::string name;
    std::vector<std::string> special_use; // "\\Sent", ...
};

struct DoveconfNamespace {
    std::string name;
    std::string prefix;
    std::string separator; // empty: none set (the storage's own applies)
    bool inbox = false;
    std::vector<DoveconfMailbox> mailboxes;
};

// The namespaces in the order printed; anything else in the output is skipped.
std::vector<DoveconfNamespace> parse_doveconf_namespaces(std::string_view output);

// The words of a list value: bare words (2.3) or quoted strings with backslash escapes (2.4).
std::vector<std::string> doveconf_list_words(std::string_view value);

} // namespace imapmig
